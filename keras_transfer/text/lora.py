"""LoRA on a keras-hub backbone: only the low-rank factors train."""

import keras

from keras_transfer import _checks


def lora_layers(backbone):
    """The layers of `backbone` that carry LoRA factors."""
    return [
        layer
        for layer in backbone._flatten_layers(include_self=False, recursive=True)
        if getattr(layer, "lora_enabled", False)
    ]


def lora_variables(backbone):
    """The LoRA factor variables (`lora_kernel_a`, `lora_kernel_b`) of `backbone`."""
    variables = []
    for layer in lora_layers(backbone):
        variables.extend([layer.lora_kernel_a, layer.lora_kernel_b])
    return variables


def enable_lora(backbone, rank):
    """Enables LoRA of `rank` on `backbone` (keras-hub's `enable_lora`) and
    leaves only the LoRA factors trainable.

    keras-hub freezes every weight of the backbone except the query and value
    projections of the attention layers, whose kernels Keras freezes in turn;
    their biases would still train, so they are frozen here. Dropout layers
    (no weights) stay active, as in LoRA training. Enabling twice with the
    same rank is a no-op (a model rebuilt from its config).
    """
    rank = _checks.check_int("lora_rank", rank, minimum=1)
    enabled = getattr(backbone, "_lora_rank", None)
    if enabled is not None and lora_layers(backbone):
        if enabled != rank:
            raise _checks.invalid(
                "lora_rank", f"{enabled}, the rank LoRA is already enabled with on this backbone", rank
            )
        return
    backbone.enable_lora(rank)
    layers = lora_layers(backbone)
    if not layers:
        raise _checks.invalid(
            "lora_rank",
            f"None: backbone {backbone.__class__.__name__} has no layer LoRA can be enabled on "
            f"(looked for {backbone.default_lora_layer_names()})",
            rank,
        )
    factors = {id(v) for v in lora_variables(backbone)}
    for layer in layers:
        for variable in layer.trainable_variables:
            if id(variable) not in factors:
                variable.trainable = False
    for layer in backbone._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.Dropout):
            layer.trainable = True
