"""`BottleneckAdapter`: a small residual bottleneck added inside a frozen network."""

import keras

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export


def check_activation(name, activation):
    """A Keras activation name (checked here, so the error names the argument)."""
    if not isinstance(activation, str):
        raise _checks.invalid(name, "a Keras activation name, e.g. 'relu' or 'gelu'", activation, error=TypeError)
    try:
        keras.activations.get(activation)
    except (ValueError, TypeError):
        raise _checks.invalid(name, "a Keras activation name, e.g. 'relu' or 'gelu'", activation) from None
    return activation


@keras_transfer_export("keras_transfer.layers.BottleneckAdapter")
class BottleneckAdapter(keras.layers.Layer):
    """A bottleneck adapter: `x + up(activation(down(x)))` over the last axis.

    `down` projects the `d` features of each position (a token of a
    sequence, a pixel of a feature map) to `units < d`, `up` projects them
    back to `d`, and the input is added back. On feature maps
    `(batch, height, width, channels)` the two projections are 1x1
    convolutions. `up` starts at zero, so a new adapter is the identity and a
    network with adapters inserted computes exactly what it computed before;
    training then moves only the adapters (and whatever else the caller left
    trainable). `keras_transfer.peft.add_adapters` inserts them into a model
    and freezes the rest.

    Args:
        units: size of the bottleneck (an int >= 1, usually `d / 16` or less).
        activation: the nonlinearity between the projections. Defaults to
            `"relu"`.
        down_initializer: initializer of the down projection's kernel.
            Defaults to `"glorot_uniform"`.
        up_initializer: initializer of the up projection's kernel (and its
            bias starts at zero). Defaults to `"zeros"`: the identity at
            the start.
        **kwargs: `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: a tensor `(..., d)`; the output has the same shape.

    Example:

    >>> import numpy as np, keras_transfer
    >>> adapter = keras_transfer.layers.BottleneckAdapter(units=2)
    >>> x = np.random.default_rng(0).normal(size=(3, 5, 5, 8)).astype("float32")
    >>> bool(np.array_equal(adapter(x), x))  # the identity until it trains
    True
    >>> adapter.count_params()  # 8*2 + 2 (down) + 2*8 + 8 (up)
    42

    Reference:
        Houlsby et al., "Parameter-Efficient Transfer Learning for NLP",
        ICML 2019 (https://arxiv.org/abs/1902.00751); Rebuffi et al.,
        "Learning multiple visual domains with residual adapters", NeurIPS
        2017 (https://arxiv.org/abs/1705.08045), for adapters on feature maps.
    """

    def __init__(
        self, units, activation="relu", down_initializer="glorot_uniform", up_initializer="zeros", **kwargs
    ):
        super().__init__(**kwargs)
        self.units = _checks.check_int("units", units, minimum=1)
        self.activation = check_activation("activation", activation)
        self.down_initializer = keras.initializers.get(down_initializer)
        self.up_initializer = keras.initializers.get(up_initializer)
        self.supports_masking = True
        # === Layers ===
        self.down = keras.layers.Dense(
            self.units, activation=activation, kernel_initializer=self.down_initializer,
            dtype=self.dtype_policy, name="down",
        )
        self.up = None  # its width is the input's, known at build

    def build(self, input_shape):
        features = input_shape[-1]
        if features is None:
            raise _checks.invalid("inputs", "a tensor whose last axis (the features) has a known size", input_shape)
        self.up = keras.layers.Dense(
            int(features), kernel_initializer=self.up_initializer, dtype=self.dtype_policy, name="up"
        )
        self.down.build(input_shape)
        self.up.build((*input_shape[:-1], self.units))

    def call(self, inputs):
        return inputs + self.up(self.down(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "activation": self.activation,
            "down_initializer": keras.initializers.serialize(self.down_initializer),
            "up_initializer": keras.initializers.serialize(self.up_initializer),
        })
        return config
