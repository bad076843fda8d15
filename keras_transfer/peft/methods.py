"""LoRA, rsLoRA, DoRA and IA3: a new model whose targets train through a few added variables.

Each function returns a new model (the given one is untouched), rebuilt from
its config with PEFT layers in place of its target layers and its weights
copied, so that its output equals the given model's until it trains (see
`keras_transfer.peft._rebuild` for why it is rebuilt). In the new model only
the method's variables and the head train: for models from
`keras_transfer.build_classifier` or `build_text_classifier`, the `"head"`
group; for other models, their last layer with weights. The new model is
not compiled. LoRA+ is `lora` trained with `lora_plus_optimizer`.

Targets (`targets=None`): every `Dense`, `EinsumDense`, `Conv1D` and
`Conv2D` of an image model but the head; on a keras-hub text encoder, the
attention query and value projections (LoRA family, keras-hub's own
`default_lora_layer_names`) or the keys, values and feed-forward activations
(IA3). Otherwise a list of layer names (or regular expressions, matched
whole), each of which must match.
"""

from keras_transfer.api_export import keras_transfer_export
from keras_transfer.peft import _rebuild
from keras_transfer.peft import _spec


@keras_transfer_export("keras_transfer.peft.lora")
def lora(model, rank=8, alpha=None, *, targets=None):
    """LoRA: each target kernel `K` becomes `K + (alpha / rank) * A @ B`, `K` frozen.

    Built on Keras's own LoRA (`enable_lora`: `A` He-uniform, `B` zero, so
    the new model starts as `model`). Use it to adapt a large pretrained
    encoder with few labels and little memory: only `A` and `B` (rank
    `rank`) and the head train, and `keras_transfer.peft.merge` folds them
    back into plain kernels for serving.

    Args:
        model: a built Keras model: a `build_classifier` or
            `build_text_classifier` model, or a functional / `Sequential`
            model.
        rank: the rank `r` of the factors (>= 1). Defaults to `8`.
        alpha: the scale numerator (> 0): the update is scaled by
            `alpha / rank`. Defaults to `None`: `rank` (scale 1).
        targets: `None` (see the module), or layer names / regular
            expressions.

    Returns:
        A new, uncompiled model with `keras_transfer.layers.PeftDense` (and
        `PeftEinsumDense`, `PeftConv1D`, `PeftConv2D`) layers.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, name="hidden"),
    ...                           keras.layers.Dense(2, name="out")])
    >>> adapted = keras_transfer.peft.lora(model, rank=4)
    >>> sorted(v.path for v in adapted.trainable_variables)
    ['hidden/lora_kernel_a', 'hidden/lora_kernel_b', 'out/bias', 'out/kernel']
    >>> x = np.ones((2, 8), "float32")
    >>> bool(np.allclose(adapted.predict(x, verbose=0), model.predict(x, verbose=0)))
    True
    >>> keras_transfer.peft.lora(model, rank=0)
    Traceback (most recent call last):
    ...
    ValueError: Invalid value received for argument `rank`. Expected an integer >= 1. Received: rank=0.

    Reference:
        Hu et al., "LoRA: Low-Rank Adaptation of Large Language Models", ICLR
        2022 (https://arxiv.org/abs/2106.09685).
    """
    return _rebuild.adapt(model, _spec.check_spec("lora", rank, alpha, targets))


@keras_transfer_export("keras_transfer.peft.rslora")
def rslora(model, rank=8, alpha=None, *, targets=None):
    """rsLoRA: LoRA scaled by `alpha / sqrt(rank)` instead of `alpha / rank`.

    With the `1 / rank` scale, LoRA's update shrinks as the rank grows and
    higher ranks learn no better; `1 / sqrt(rank)` keeps the update's size
    stable across ranks (the layers' `rank_stabilized=True`). Use it
    instead of `lora` at ranks above ~8.

    Args:
        model: a built Keras model (as for `keras_transfer.peft.lora`).
        rank: the rank of the factors (>= 1). Defaults to `8`.
        alpha: the scale numerator (> 0). Defaults to `None`: `rank`
            (scale `sqrt(rank)`).
        targets: `None`, or layer names / regular expressions.

    Returns:
        A new, uncompiled model.

    Example:

    >>> import keras, keras_transfer
    >>> model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, name="hidden"),
    ...                           keras.layers.Dense(2, name="out")])
    >>> keras_transfer.peft.rslora(model, rank=4, alpha=2).get_layer("hidden").scale
    1.0

    Reference:
        Kalajdzievski, "A Rank Stabilization Scaling Factor for Fine-Tuning
        with LoRA", 2023 (https://arxiv.org/abs/2312.03732).
    """
    return _rebuild.adapt(model, _spec.check_spec("rslora", rank, alpha, targets))


@keras_transfer_export("keras_transfer.peft.dora")
def dora(model, rank=8, alpha=None, *, targets=None):
    """DoRA: each target kernel becomes `m * V / ||V||` with `V = K + s * A @ B`.

    The kernel is split into a magnitude `m` (one per output unit, trained,
    started at `||K||`) and a direction (LoRA on `K`, normalised over the
    input axes; the norm is a constant in the gradient, as in the paper), so
    the new model starts as `model`. It trains the magnitude and the
    direction apart, closer to full fine-tuning than LoRA at the same rank,
    for a few more parameters and a slower step.

    Args:
        model: a built Keras model (as for `keras_transfer.peft.lora`).
        rank: the LoRA rank of the direction (>= 1). Defaults to `8`.
        alpha: LoRA's scale numerator (> 0). Defaults to `None`: `rank`.
        targets: `None`, or layer names / regular expressions.

    Returns:
        A new, uncompiled model.

    Example:

    >>> import keras, keras_transfer
    >>> model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, name="hidden"),
    ...                           keras.layers.Dense(2, name="out")])
    >>> tuple(keras_transfer.peft.dora(model, rank=4).get_layer("hidden").magnitude.shape)
    (1, 16)

    Reference:
        Liu et al., "DoRA: Weight-Decomposed Low-Rank Adaptation", ICML 2024
        (https://arxiv.org/abs/2402.09353).
    """
    return _rebuild.adapt(model, _spec.check_spec("dora", rank, alpha, targets))


@keras_transfer_export("keras_transfer.peft.ia3")
def ia3(model, *, targets=None):
    """IA3: learned vectors (ones at the start) rescale the target layers' activations.

    On a keras-hub encoder: the keys and values of every attention layer and
    the feed-forward activations (the inputs of its output projection); on
    an image model: the output channels of every convolution and dense
    layer of the backbone (before the bias and the activation). The fewest
    trained parameters of the family (one per scaled unit), folded into the
    kernels by `keras_transfer.peft.merge`.

    Args:
        model: a built Keras model (as for `keras_transfer.peft.lora`).
        targets: `None`, layer names / regular expressions (their outputs
            are scaled), or `{name: "output" | "input"}`.

    Returns:
        A new, uncompiled model.

    Example:

    >>> import keras, keras_transfer
    >>> model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, name="hidden"),
    ...                           keras.layers.Dense(2, name="out")])
    >>> [v.name for v in keras_transfer.peft.ia3(model).get_layer("hidden").trainable_variables]
    ['ia3_scale']

    Reference:
        Liu et al., "Few-Shot Parameter-Efficient Fine-Tuning is Better and
        Cheaper than In-Context Learning", NeurIPS 2022
        (https://arxiv.org/abs/2205.05638).
    """
    return _rebuild.adapt(model, _spec.check_spec("ia3", None, None, targets))
