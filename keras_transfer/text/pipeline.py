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

from keras_transfer.models.transfer_model import TransferModel
from keras_transfer.text.inputs import TextInputs, tokenize

ON_TOO_LONG = ("truncate", "error")


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
        """The groups that currently train (`None` under PEFT, which manages its own state)."""
        from keras_transfer.peft._hub import peft_layers

        if peft_layers(self.backbone):
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
