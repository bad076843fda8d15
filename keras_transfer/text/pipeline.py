"""Raw strings in, token ids through the compiled step.

XLA cannot compile string operations, so a model that takes raw text cannot
tokenize inside its train step when `jit_compile=True`. `TextPipelineModel`
keeps the keras-hub preprocessor next to the numeric model instead: `fit`,
`evaluate` and `predict` map it over a `tf.data` pipeline (arrays and lists
of strings are turned into one, shuffled each epoch like Keras does for
arrays), and the compiled step only sees integer token ids. Calling the model
on strings (eagerly, or inside a `tf.function` such as a SavedModel
signature) tokenizes first. Inputs that are already tokenized, or datasets
that yield token dicts, pass through unchanged.

Sequence-length policy (`on_too_long`): texts with more tokens than
`preprocessor.sequence_length` (special tokens included) are truncated by the
preprocessor. With `"truncate"` (the default) `fit`, `evaluate` and `predict`
count such texts in in-memory inputs and warn once per call with the count;
texts coming from a `tf.data.Dataset` are truncated silently. With `"error"`
in-memory inputs with a too-long text are refused with a `ValueError` before
any work starts, and datasets fail with `InvalidArgumentError` at the first
too-long text.
"""

import warnings

import keras
import numpy as np
import tensorflow as tf

from keras_transfer import _checks
from keras_transfer.data import checks
from keras_transfer.models.transfer_model import TransferModel

ON_TOO_LONG = ("truncate", "error")


def is_text(x):
    """Whether `x` is a batch of raw strings (not a dataset, not token ids)."""
    if isinstance(x, tf.Tensor):
        return x.dtype == tf.string
    if isinstance(x, np.ndarray):
        return x.dtype.kind in ("U", "S") or (
            x.dtype.kind == "O" and x.size > 0 and isinstance(x.flat[0], (str, bytes))
        )
    if isinstance(x, (list, tuple)):
        return len(x) > 0 and all(isinstance(item, (str, bytes)) for item in x)
    return False


def _dataset_yields_text(dataset):
    spec = dataset.element_spec
    first = spec[0] if isinstance(spec, tuple) else spec
    return isinstance(first, tf.TensorSpec) and first.dtype == tf.string


def tokenize(preprocessor, texts):
    """`preprocessor(texts)`, a keras-hub token dict, with boolean masks as int32.

    keras-hub packers give a bool padding mask; backbone inputs are int32, and
    tf.distribute cannot reduce bool batches (Keras averages the first batch).
    """
    return {
        key: tf.cast(value, "int32") if value.dtype == tf.bool else value
        for key, value in preprocessor(texts).items()
    }


class TextInputs:
    """Mixin: `fit`, `evaluate`, `predict`, `*_on_batch` and calls take raw strings.

    Strings are turned into a `tf.data` pipeline that tokenizes them, so the
    compiled step only sees numbers. The class provides `_tokenize(texts)`
    (a string tensor to what the step takes) and `_check_lengths(texts,
    argument)` (eager checks of in-memory texts); `_takes_text()` says whether
    strings are accepted at all (a model may take text or not depending on
    what it wraps). Inputs that are not strings pass through unchanged.
    """

    def _takes_text(self):
        return True

    def _preprocess_samples(self, x, y=None, sample_weight=None):
        return keras.utils.pack_x_y_sample_weight(self._tokenize(x), y, sample_weight)

    def _text_dataset(self, x, y, sample_weight, batch_size, *, shuffle, argument="x"):
        texts = checks.check_texts(argument, x)
        self._check_lengths(texts, argument)
        parts = [texts]
        for value, name in ((y, "y"), (sample_weight, "sample_weight")):
            if value is None:
                continue
            value = np.asarray(value)
            if len(value) != len(texts):
                raise _checks.invalid(
                    name, f"as many entries as texts in `{argument}` ({len(texts)})", f"array of length {len(value)}"
                )
            parts.append(value)
        dataset = tf.data.Dataset.from_tensor_slices(tuple(parts))
        if shuffle:
            dataset = dataset.shuffle(len(texts), reshuffle_each_iteration=True)
        dataset = dataset.batch(batch_size or 32)
        return dataset.map(self._preprocess_samples, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
            tf.data.AUTOTUNE
        )

    def _dataset(self, x, y, sample_weight, batch_size, *, shuffle, argument="x"):
        """A `tf.data.Dataset` of token batches for `x`, or `None` if `x` is not text."""
        if not self._takes_text():
            return None
        if isinstance(x, tf.data.Dataset):
            for value, name in ((y, "y"), (sample_weight, "sample_weight"), (batch_size, "batch_size")):
                if value is not None:
                    raise _checks.invalid(
                        name, "None when `x` is a tf.data.Dataset (the dataset yields it)", value
                    )
            if not _dataset_yields_text(x):
                return x
            return x.map(self._preprocess_samples, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
                tf.data.AUTOTUNE
            )
        if isinstance(x, (str, bytes)) or is_text(x):
            return self._text_dataset(x, y, sample_weight, batch_size, shuffle=shuffle, argument=argument)
        return None


    # === keras.Model overrides ===

    def _tokenize_inputs(self, texts):
        """`_tokenize` for a batch of strings given to a call (a string tensor or in-memory texts)."""
        if not isinstance(texts, tf.Tensor):
            texts = tf.constant(checks.check_texts("inputs", texts))
        return self._tokenize(texts)

    def __call__(self, *args, **kwargs):
        if args and self._takes_text() and (isinstance(args[0], (str, bytes)) or is_text(args[0])):
            args = (self._tokenize_inputs(args[0]),) + args[1:]
        return super().__call__(*args, **kwargs)

    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        epochs=1,
        verbose="auto",
        callbacks=None,
        validation_split=0.0,
        validation_data=None,
        shuffle=True,
        sample_weight=None,
        validation_batch_size=None,
        **kwargs,
    ):
        if validation_split and validation_data is None and is_text(x):
            x, y, sample_weight, validation_data = _split(x, y, sample_weight, validation_split)
            validation_split = 0.0
        dataset = self._dataset(x, y, sample_weight, batch_size, shuffle=shuffle)
        if dataset is not None:
            if validation_split:
                raise _checks.invalid(
                    "validation_split", "0 when `x` is a tf.data.Dataset (pass `validation_data`)", validation_split
                )
            x, y, sample_weight, batch_size = dataset, None, None, None
            shuffle = False  # shuffled in the pipeline (arrays) or by the caller (datasets)
        if validation_data is not None:
            if isinstance(validation_data, tf.data.Dataset):
                validation_data = self._dataset(validation_data, None, None, None, shuffle=False)
            else:
                vx, vy, vsw = keras.utils.unpack_x_y_sample_weight(tuple(validation_data))
                prepared = self._dataset(
                    vx, vy, vsw, validation_batch_size or batch_size or 32, shuffle=False, argument="validation_data"
                )
                if prepared is not None:
                    validation_data = prepared
                    validation_batch_size = None
        return super().fit(
            x=x,
            y=y,
            batch_size=batch_size,
            epochs=epochs,
            verbose=verbose,
            callbacks=callbacks,
            validation_split=validation_split,
            validation_data=validation_data,
            shuffle=shuffle,
            sample_weight=sample_weight,
            validation_batch_size=validation_batch_size,
            **kwargs,
        )

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, **kwargs):
        if not kwargs.get("_use_cached_eval_dataset", False):
            dataset = self._dataset(x, y, sample_weight, batch_size, shuffle=False)
            if dataset is not None:
                x, y, sample_weight, batch_size = dataset, None, None, None
        return super().evaluate(
            x=x, y=y, batch_size=batch_size, verbose=verbose, sample_weight=sample_weight, **kwargs
        )

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        dataset = self._dataset(x, None, None, batch_size, shuffle=False)
        if dataset is not None:
            x, batch_size = dataset, None
        return super().predict(x, batch_size=batch_size, verbose=verbose, steps=steps, callbacks=callbacks)

    def _batch(self, x, y=None, sample_weight=None):
        if self._takes_text() and (isinstance(x, (str, bytes)) or is_text(x)):
            texts = checks.check_texts("x", x)
            self._check_lengths(texts, "x")
            x = self._tokenize(tf.constant(texts))
        return x, y, sample_weight

    def train_on_batch(self, x, y=None, sample_weight=None, **kwargs):
        x, y, sample_weight = self._batch(x, y, sample_weight)
        return super().train_on_batch(x, y, sample_weight=sample_weight, **kwargs)

    def test_on_batch(self, x, y=None, sample_weight=None, **kwargs):
        x, y, sample_weight = self._batch(x, y, sample_weight)
        return super().test_on_batch(x, y, sample_weight=sample_weight, **kwargs)

    def predict_on_batch(self, x):
        x, _, _ = self._batch(x)
        return super().predict_on_batch(x)


class TextPipelineModel(TransferModel, TextInputs, keras.Model):
    """Base of the text models: a numeric functional model plus its preprocessor.

    Subclasses build a functional graph on the preprocessor's outputs (token
    ids, padding mask, ...) and set `self.preprocessor` and
    `self.on_too_long`.
    """

    _nested_config = ("backbone", "preprocessor")

    # === Preprocessing ===

    def _special_tokens(self):
        cached = getattr(self, "_special_token_count", None)
        if cached is None:
            packed = self.preprocessor(tf.constant([""]))
            cached = int(tf.reduce_sum(tf.cast(packed["padding_mask"], "int32")))
            self._special_token_count = cached
        return cached

    def _token_limit(self):
        """Tokens a text may have before it is truncated (special tokens excluded)."""
        return int(self.preprocessor.sequence_length) - self._special_tokens()

    def _count_too_long(self, texts):
        tokens = self.preprocessor.tokenizer(tf.constant(texts))
        if isinstance(tokens, tf.RaggedTensor):
            lengths = tokens.row_lengths().numpy()
        else:  # keras-hub returns Python lists outside a graph
            lengths = np.array([len(row) for row in tokens])
        return int(np.sum(lengths > self._token_limit())), int(lengths.max(initial=0))

    def _check_lengths(self, texts, argument):
        too_long, longest = self._count_too_long(list(texts))
        if not too_long:
            return
        limit = self._token_limit()
        length = int(self.preprocessor.sequence_length)
        if self.on_too_long == "error":
            raise ValueError(
                f"Invalid value received for argument `{argument}`: {too_long} of {len(texts)} texts "
                f"have more than {limit} tokens (the longest has {longest}), which does not fit "
                f"sequence_length={length} with the special tokens, and the model was built with "
                "on_too_long='error'. Shorten the texts, build the model with a larger "
                "`sequence_length` (at most the backbone's `max_sequence_length`), or use "
                "on_too_long='truncate'."
            )
        warnings.warn(
            f"{too_long} of {len(texts)} texts in `{argument}` have more than {limit} tokens "
            f"(the longest has {longest}); they are truncated to sequence_length={length} "
            "(on_too_long='truncate'). Pass `sequence_length=` to `build_text_classifier` "
            "(at most the backbone's `max_sequence_length`) to keep more.",
            stacklevel=_caller_stacklevel(),
        )

    def _tokenize(self, texts):
        if self.on_too_long == "error":
            lengths = self.preprocessor.tokenizer(texts).row_lengths()
            limit = tf.cast(self._token_limit(), lengths.dtype)
            tf.debugging.assert_less_equal(
                lengths, limit,
                message=(
                    f"A text has more than {self._token_limit()} tokens (sequence_length="
                    f"{int(self.preprocessor.sequence_length)} with special tokens) and the model "
                    "was built with on_too_long='error'."
                ),
            )
        return tokenize(self.preprocessor, texts)

    @property
    def raw_input_spec(self):
        """The input an exported model takes: a 1-D batch of strings.

        `model.inputs` are the token ids the compiled step sees; exporters
        that serve raw inputs use this spec and call the model on it (calling
        the model on a string tensor tokenizes first).
        """
        return tf.TensorSpec(shape=(None,), dtype=tf.string, name="texts")

    # === Export ===

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None, **kwargs):
        """Exports for inference; the default SavedModel takes raw strings.

        With `format="tf_saved_model"` and no `input_signature`, the
        SavedModel's `serve` endpoint (also `serving_default`) takes a 1-D
        batch of strings and tokenizes inside the graph: load it after
        `import tensorflow_text`, e.g. with
        `keras_transfer.text.load_saved_model(filepath)`. Other formats, or
        an explicit `input_signature`, export the token-id model as Keras
        does.
        """
        if format == "tf_saved_model" and input_signature is None and not kwargs:
            from keras_transfer.text.saved_model import export_text_saved_model

            return export_text_saved_model(self, filepath, verbose=verbose)
        return super().export(filepath, format=format, verbose=verbose, input_signature=input_signature, **kwargs)

    # === Trainable groups ===

    def _set_trainable_groups(self, trainable_groups):
        """Makes exactly `trainable_groups` train (`None`: leave as is)."""
        if trainable_groups is None:
            return None
        from keras_transfer.groups.freezing import freeze_groups
        from keras_transfer.groups.naming import check_group_names

        groups = self.layer_groups
        freeze_groups(self, groups, check_group_names("trainable_groups", list(trainable_groups), groups))
        return list(trainable_groups)

    def _trainable_groups(self):
        """The groups that currently train (`None` under LoRA, which manages its own state)."""
        from keras_transfer.text import lora as lora_lib

        if lora_lib.lora_layers(self.backbone):
            return None
        return [
            name
            for name, layers in self.layer_groups.items()
            if any(layer.trainable_weights for layer in layers)
        ]

    # === Config ===

    def get_config(self):
        config = super().get_config()
        config.update({
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "preprocessor": keras.saving.serialize_keras_object(self.preprocessor),
            "trainable_groups": self._trainable_groups(),
        })
        return config


def _caller_stacklevel():
    """The `stacklevel` of the first frame outside this package and Keras."""
    import inspect
    import os

    frame = inspect.currentframe().f_back
    level = 1
    internal = (os.path.dirname(os.path.dirname(__file__)), os.path.dirname(keras.__file__))
    while frame is not None and frame.f_code.co_filename.startswith(internal):
        frame = frame.f_back
        level += 1
    return level


def _split(x, y, sample_weight, validation_split):
    """Keras's `validation_split` for in-memory text: the last fraction validates."""
    validation_split = _checks.check_float("validation_split", validation_split, minimum=0.0)
    count = len(x)
    cut = int(count * (1.0 - validation_split))
    if cut <= 0 or cut >= count:
        raise _checks.invalid(
            "validation_split", f"a fraction that leaves texts on both sides of the split ({count} texts)", validation_split
        )

    def part(value, start, end):
        return None if value is None else value[start:end]

    validation = (part(x, cut, count), part(y, cut, count), part(sample_weight, cut, count))
    return part(x, 0, cut), part(y, 0, cut), part(sample_weight, 0, cut), validation
