"""`ClassScoreHead`: what the few-shot heads share (private base class)."""

import keras

from keras_transfer import _checks
from keras_transfer.few_shot import _scoring


class ClassScoreHead(keras.layers.Layer):
    """Embeddings `(batch, dim)` in, one score per class out, then `activation`.

    Computes in float32 under a mixed-precision policy unless a `dtype` is
    given. Subclasses implement `_scores(inputs)` and create their state in
    `build` after `check_input_shape`.
    """

    def __init__(self, num_classes, activation, **kwargs):
        kwargs["dtype"] = _scoring.head_dtype(kwargs.get("dtype"))
        super().__init__(**kwargs)
        self.num_classes = _checks.check_int("num_classes", num_classes, minimum=2)  # one class scores nothing
        self.activation = _scoring.check_activation(activation)
        self._activation_fn = keras.activations.get(activation) if activation else None

    def check_input_shape(self, input_shape):
        """The embedding dimension, after checking the shape is `(batch, dim)`."""
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError(
                f"{type(self).__name__} expects embeddings of shape (batch, dim). Received: input_shape={input_shape}."
            )
        return int(input_shape[-1])

    def _scores(self, inputs):
        raise NotImplementedError

    def call(self, inputs):
        scores = self._scores(keras.ops.cast(inputs, self.compute_dtype))
        return self._activation_fn(scores) if self._activation_fn else scores

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        config = super().get_config()
        config.update({"num_classes": self.num_classes, "activation": self.activation})
        return config
