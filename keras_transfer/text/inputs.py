"""Raw strings given to `fit`, `evaluate`, `predict` or a call become token batches.

XLA cannot compile string operations, so a model that takes raw text cannot
tokenize inside its train step when `jit_compile=True`. `TextInputs` maps the
tokenizer over a `tf.data` pipeline instead (arrays and lists of strings are
turned into one, shuffled each epoch like Keras does for arrays), so the
compiled step only sees integer token ids. Inputs that are already tokenized,
or datasets that yield token dicts, pass through unchanged.
"""

import keras
import numpy as np
import tensorflow as tf

from keras_transfer import _checks
from keras_transfer.data import checks


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
