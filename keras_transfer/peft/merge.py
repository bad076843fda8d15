"""`merge`: fold the PEFT variables into plain kernels, for export."""

from keras_transfer.api_export import keras_transfer_export
from keras_transfer.peft import _rebuild
from keras_transfer.peft._hub import peft_layers


@keras_transfer_export("keras_transfer.peft.merge")
def merge(model):
    """A new model where every PEFT layer is a plain Keras layer with its merged kernel.

    LoRA, rsLoRA, DoRA and IA3 are linear in the frozen kernel, so each
    adapted layer computes with one kernel `K'`; the merged model has the
    plain `Dense` / `EinsumDense` / `Conv1D` / `Conv2D` with `K'` and the
    same bias, none of the methods' layers or variables, and predicts what
    `model` predicts (to float32 rounding). `keras_transfer.export.export_saved_model`
    merges by default. The merged model is not compiled.

    Args:
        model: a model from `keras_transfer.peft.lora`, `rslora`, `dora`
            or `ia3` (trained or not), or a text classifier built with
            `lora_rank`.

    Returns:
        A new, uncompiled model without PEFT layers.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, name="hidden"),
    ...                           keras.layers.Dense(2, name="out")])
    >>> adapted = keras_transfer.peft.dora(model, rank=4)
    >>> _ = adapted.get_layer("hidden").lora_kernel_b.assign(np.ones((4, 16)))
    >>> merged = keras_transfer.peft.merge(adapted)
    >>> type(merged.get_layer("hidden")).__name__, len(merged.weights)
    ('Dense', 4)
    >>> x = np.ones((2, 8), "float32")
    >>> bool(np.allclose(merged.predict(x, verbose=0), adapted.predict(x, verbose=0), atol=1e-5))
    True
    """
    return _rebuild.merged(model)


def has_peft_layers(model):
    """Whether `model` holds PEFT layers (what `merge` folds)."""
    return bool(peft_layers(model))
