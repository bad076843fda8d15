"""`PeftDense`: a `keras.layers.Dense` with a frozen kernel and LoRA / DoRA / IA3 variables."""

import keras

from keras_transfer.api_export import keras_transfer_export
from keras_transfer.peft._kernel import PeftKernel


@keras_transfer_export("keras_transfer.layers.PeftDense")
class PeftDense(PeftKernel, keras.layers.Dense):
    """A `Dense` layer whose kernel is frozen and reparametrised.

    It computes `x @ K' + b` with `K' = l * dora(K + s * A @ B)`: Keras's own
    LoRA factors `A`, `B` (`enable_lora`, `B` zero at the start) scaled by
    `s = lora_alpha / lora_rank` (or `lora_alpha / sqrt(lora_rank)` when
    `rank_stabilized`),
    DoRA's trainable magnitude (`dora=True`), IA3's scaling vector (`ia3`).
    The kernel and the bias are frozen; `keras_transfer.peft.merge` folds
    `K'` into a plain `Dense`. Usually created by `keras_transfer.peft.lora`,
    `rslora`, `dora` or `ia3`, which rebuild a model with it.

    Args:
        *args: the positional arguments of `keras.layers.Dense` (`units`).
        lora_rank: the LoRA rank, or `None` (IA3 alone). Defaults to `None`.
        lora_alpha: the LoRA `alpha` (> 0). Defaults to `None`: the rank.
        rank_stabilized: scale by `lora_alpha / sqrt(lora_rank)` (rsLoRA)
            instead of `lora_alpha / lora_rank`. Defaults to `False`.
        dora: add DoRA's magnitude vector (needs `lora_rank`). Defaults to `False`.
        ia3: `None`, `"output"` (scale the output units) or `"input"` (scale
            the input units). Defaults to `None`.
        **kwargs: the other arguments of `keras.layers.Dense`.

    Example:

    >>> import numpy as np, keras_transfer
    >>> layer = keras_transfer.layers.PeftDense(3, lora_rank=2, dora=True)
    >>> y = layer(np.ones((1, 4), "float32"))
    >>> [v.name for v in layer.trainable_variables]
    ['lora_kernel_a', 'lora_kernel_b', 'magnitude']

    Reference:
        Hu et al., "LoRA: Low-Rank Adaptation of Large Language Models", ICLR
        2022 (https://arxiv.org/abs/2106.09685); Liu et al., "DoRA:
        Weight-Decomposed Low-Rank Adaptation", ICML 2024
        (https://arxiv.org/abs/2402.09353); Liu et al., "Few-Shot
        Parameter-Efficient Fine-Tuning is Better and Cheaper than In-Context
        Learning" (IA3), NeurIPS 2022 (https://arxiv.org/abs/2205.05638).
    """
