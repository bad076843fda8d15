"""LoRA+: the B factors learn `ratio` times faster, through `GroupOptimizer`."""

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.fine_tuning.group_optimizer import GroupOptimizer

B_FACTOR = "lora_kernel_b"


@keras_transfer_export("keras_transfer.peft.lora_plus_optimizer")
def lora_plus_optimizer(optimizer="adam", ratio=16.0):
    """An optimizer for a LoRA model whose `B` factors take `ratio` times the step of the rest.

    LoRA+ observes that with one learning rate for both factors, `B`
    (started at zero, on the output side) learns too slowly in wide layers;
    a larger rate for `B` (the paper's default `ratio`: 16) speeds up and
    improves LoRA at no cost. The multiplier scales each `B`'s *update*
    (`keras_transfer.optimizers.GroupOptimizer`), so it is exact for Adam,
    whose step does not scale with the gradient. Compile a model from
    `keras_transfer.peft.lora` (or `rslora`, `dora`) with it.

    Args:
        optimizer: the inner optimizer (instance, name or config), whose
            learning rate is `A`'s (and the head's). Defaults to `"adam"`.
        ratio: `B`'s learning rate over `A`'s (> 0). Defaults to `16.0`.

    Returns:
        A `keras_transfer.optimizers.GroupOptimizer` with the multiplier
        `{"lora_kernel_b": ratio}` (saved with the model).

    Example:

    >>> import keras, keras_transfer
    >>> model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, name="hidden"),
    ...                           keras.layers.Dense(2, name="out")])
    >>> adapted = keras_transfer.peft.lora(model, rank=4)
    >>> optimizer = keras_transfer.peft.lora_plus_optimizer(keras.optimizers.Adam(1e-3), ratio=16)
    >>> adapted.compile(optimizer, "mse")
    >>> layer = adapted.get_layer("hidden")
    >>> optimizer.multiplier(layer.lora_kernel_b), optimizer.multiplier(layer.lora_kernel_a)
    (16.0, 1.0)

    Reference:
        Hayou, Ghosh and Yu, "LoRA+: Efficient Low Rank Adaptation of Large
        Models", ICML 2024 (https://arxiv.org/abs/2402.12354).
    """
    ratio = _checks.check_float("ratio", ratio, minimum=0.0, exclusive_minimum=True)
    return GroupOptimizer(optimizer, multipliers={B_FACTOR: ratio})
