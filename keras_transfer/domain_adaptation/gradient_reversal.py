"""`GradientReversal`: identity forward, `-lambda * gradient` backward."""

import keras
from keras import ops

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export


@ops.custom_gradient
def _reverse_gradient(x, lam):
    def grad(*args, upstream=None):
        if upstream is None:
            (upstream,) = args
        return ops.negative(upstream) * ops.cast(lam, upstream.dtype), ops.zeros_like(lam)

    return x, grad


@keras_transfer_export("keras_transfer.layers.GradientReversal")
class GradientReversal(keras.layers.Layer):
    """Passes its input through unchanged and reverses the gradient.

    The forward pass is the exact identity. In the backward pass the incoming
    gradient is multiplied by `-lambda_`: layers before it are trained to
    *maximise* the loss of the layers after it. Put between a feature
    extractor and a domain classifier, this is DANN's adversarial training in
    a single minimisation.

    `lambda_` lives in a non-trainable float32 variable (`layer.lambda_var`),
    so it can change during `fit` without retracing the train function
    (`keras_transfer.callbacks.GradientReversalSchedule` does that), and its
    current value is saved with the model.

    Args:
        lambda_: float >= 0, the initial factor of the reversed gradient.
            Defaults to `1.0`.

    Call arguments:
        inputs: a float tensor of any shape.

    Example:

    >>> import numpy as np, tensorflow as tf, keras_transfer
    >>> layer = keras_transfer.layers.GradientReversal(lambda_=0.5)
    >>> x = tf.constant([[1.0, -2.0]])
    >>> with tf.GradientTape() as tape:
    ...     tape.watch(x)
    ...     y = layer(x)
    ...     loss = tf.reduce_sum(3.0 * y)
    >>> np.asarray(y).tolist(), np.asarray(tape.gradient(loss, x)).tolist()
    ([[1.0, -2.0]], [[-1.5, -1.5]])
    >>> layer.lambda_var.assign(2.0)  # doctest: +ELLIPSIS
    <...>

    Reference:
        Ganin et al., "Domain-Adversarial Training of Neural Networks", JMLR
        2016 (https://arxiv.org/abs/1505.07818).
    """

    def __init__(self, lambda_=1.0, **kwargs):
        super().__init__(**kwargs)
        self.lambda_ = _checks.check_float("lambda_", lambda_, minimum=0.0)
        self.supports_masking = True
        self.lambda_var = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(self.lambda_),
            trainable=False,
            dtype="float32",
            name="lambda",
        )
        self.built = True

    def call(self, inputs):
        return _reverse_gradient(inputs, ops.convert_to_tensor(self.lambda_var))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "lambda_": self.lambda_}
