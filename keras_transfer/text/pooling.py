"""`TextPooling`: token states to one vector per text (masked mean or first token)."""

import keras

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export

POOLINGS = ("mean", "cls")


@keras_transfer_export("keras_transfer.layers.TextPooling")
class TextPooling(keras.layers.Layer):
    """Pools the token states of a text encoder into one vector per text.

    `"mean"` averages the states of the real tokens only (padding excluded
    through `padding_mask`), which is the pooling sentence encoders such as
    Sentence-BERT and all-MiniLM-L6-v2 are trained with. `"cls"` takes the
    state of the first token (`[CLS]` for BERT), the pooling of BERT-style
    classifiers. The average is computed in float32 under mixed precision.

    Args:
        mode: `"mean"` or `"cls"`. Defaults to `"mean"`.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: a list `[sequence, padding_mask]`: token states
            `(batch, length, dim)` and a `(batch, length)` mask that is 1 (or
            `True`) on real tokens and 0 on padding.

    Example:

    >>> import numpy as np, keras_transfer
    >>> states = np.array([[[1.0], [3.0], [100.0]]], "float32")
    >>> mask = np.array([[1, 1, 0]])
    >>> layer = keras_transfer.layers.TextPooling("mean")
    >>> np.asarray(layer([states, mask])).tolist()
    [[2.0]]
    >>> np.asarray(keras_transfer.layers.TextPooling("cls")([states, mask])).tolist()
    [[1.0]]

    Reference:
        Reimers and Gurevych, "Sentence-BERT: Sentence Embeddings using
        Siamese BERT-Networks", EMNLP 2019 (https://arxiv.org/abs/1908.10084).
    """

    def __init__(self, mode="mean", **kwargs):
        super().__init__(**kwargs)
        self.mode = _checks.check_choice("mode", mode, POOLINGS)
        self.supports_masking = False

    def call(self, inputs):
        sequence, padding_mask = inputs
        if self.mode == "cls":
            return sequence[:, 0, :]
        sequence = keras.ops.cast(sequence, "float32")
        mask = keras.ops.cast(padding_mask, "float32")[:, :, None]
        total = keras.ops.sum(sequence * mask, axis=1)
        count = keras.ops.maximum(keras.ops.sum(mask, axis=1), 1.0)
        return keras.ops.cast(total / count, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        sequence_shape = input_shape[0]
        return (sequence_shape[0], sequence_shape[-1])

    def get_config(self):
        config = super().get_config()
        config["mode"] = self.mode
        return config
