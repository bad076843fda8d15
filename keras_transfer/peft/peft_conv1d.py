"""`PeftConv1D`: a `keras.layers.Conv1D` with a frozen kernel and LoRA / DoRA / IA3 variables."""

import keras

from keras_transfer.api_export import keras_transfer_export
from keras_transfer.peft._kernel import PeftKernel


@keras_transfer_export("keras_transfer.layers.PeftConv1D")
class PeftConv1D(PeftKernel, keras.layers.Conv1D):
    """A `Conv1D` layer whose kernel is frozen and reparametrised.

    Same reparametrisation as `keras_transfer.layers.PeftDense`. Keras's LoRA
    factors of a 1D convolution are a convolution to `rank` channels (`A`)
    and a per-position mix to the output channels (`B`): the layer adapts
    sequence models and 1D signal backbones.
    DoRA's magnitude and IA3's `"output"` vector hold one value per output
    channel (the norm runs over the kernel window and the input channels).

    Args: as `keras_transfer.layers.PeftDense`, with the arguments of
    `keras.layers.Conv1D` in place of `Dense`'s.

    Example:

    >>> import numpy as np, keras_transfer
    >>> layer = keras_transfer.layers.PeftConv1D(4, 3, lora_rank=2)
    >>> y = layer(np.ones((1, 8, 3), "float32"))
    >>> tuple(layer.lora_kernel_a.shape), tuple(layer.lora_kernel_b.shape)
    ((3, 3, 2), (2, 4))

    Reference:
        Hu et al., "LoRA: Low-Rank Adaptation of Large Language Models", ICLR
        2022 (https://arxiv.org/abs/2106.09685).
    """
