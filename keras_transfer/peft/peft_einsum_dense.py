"""`PeftEinsumDense`: a `keras.layers.EinsumDense` (attention projections) with a frozen kernel."""

import keras

from keras_transfer.api_export import keras_transfer_export
from keras_transfer.peft._kernel import PeftKernel


@keras_transfer_export("keras_transfer.layers.PeftEinsumDense")
class PeftEinsumDense(PeftKernel, keras.layers.EinsumDense):
    """An `EinsumDense` layer whose kernel is frozen and reparametrised.

    The query, key, value and output projections of Keras's (and
    keras-hub's) attention layers are `EinsumDense` layers. Same
    reparametrisation as `keras_transfer.layers.PeftDense`; the input axes
    of the kernel (those its equation contracts with the inputs) are the
    ones DoRA's norm runs over, e.g. `"abc,cde->abde"` (a query projection
    to `heads x head_dim`) has one magnitude per head and head unit.

    Args: as `keras_transfer.layers.PeftDense`, with the arguments of
    `keras.layers.EinsumDense` in place of `Dense`'s.

    Example:

    >>> import numpy as np, keras_transfer
    >>> layer = keras_transfer.layers.PeftEinsumDense(
    ...     "abc,cde->abde", output_shape=(None, 2, 4), ia3="output")
    >>> y = layer(np.ones((1, 5, 8), "float32"))
    >>> tuple(layer.ia3_scale.shape)
    (1, 2, 4)

    Reference:
        Hu et al., "LoRA: Low-Rank Adaptation of Large Language Models", ICLR
        2022 (https://arxiv.org/abs/2106.09685).
    """

    def _input_axes(self):
        inputs, kernel = self.equation.split("->")[0].split(",")
        return tuple(i for i, letter in enumerate(kernel.strip()) if letter in inputs)
