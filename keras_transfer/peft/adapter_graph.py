"""Rebuilding a functional network with adapters in it, and moving its weights over.

A built Keras layer takes no new sublayers, and a sublayer forced into one is
not in the functions Keras traced nor in its config, so `load_model` loses it.
Adapters therefore go into a *rebuilt* network: a functional model is cloned
from its config (`keras.models.clone_model`), with an adapter called after
chosen layers (image backbones) or with keras-hub encoder layers replaced by
`AdapterTransformerEncoder`s (text backbones); then every weight of the
original is copied into the clone, variable by variable.
"""

import sys

import keras

from keras_transfer import _checks
from keras_transfer.peft.adapter import BottleneckAdapter
from keras_transfer.peft.adapter_encoder import AdapterTransformerEncoder


def bottleneck_units(features, reduction_factor):
    """`features / reduction_factor`, rounded down, at least 1."""
    return max(1, int(int(features) // reduction_factor))


def output_rank_and_width(layer):
    """`(rank, last dimension)` of the output of a layer called once in a functional graph."""
    try:
        shape = layer.output.shape
    except (AttributeError, ValueError):
        return 0, None
    return len(shape), shape[-1]


def _fresh(layer):
    return layer.__class__.from_config(layer.get_config())


def insert_after(model, names, reduction_factor, activation):
    """A clone of functional `model` with a `BottleneckAdapter` after each layer in `names`.

    The adapter of layer `n` is named `f"{n}_adapter"`; every consumer of
    `n`'s output reads the adapter's output instead.
    """
    names = set(names)
    if isinstance(model, keras.Sequential):  # clone_model calls layers anew only in functional graphs
        model = keras.Model(model.inputs, model.outputs, name=model.name)

    def call(layer, *args, **kwargs):
        outputs = layer(*args, **kwargs)
        if layer.name in names:
            units = bottleneck_units(outputs.shape[-1], reduction_factor)
            outputs = BottleneckAdapter(units, activation, name=f"{layer.name}_adapter")(outputs)
        return outputs

    return keras.models.clone_model(model, clone_function=_fresh, call_function=call)


def transformer_encoders(backbone):
    """The `keras_hub.layers.TransformerEncoder` layers of a functional backbone (exact class)."""
    if "keras_hub" not in sys.modules:  # then no model holds one (and importing it takes seconds)
        return []
    import keras_hub

    return [layer for layer in backbone.layers if type(layer) is keras_hub.layers.TransformerEncoder]


def replace_encoders(backbone, reduction_factor, activation, positions, train_layer_norm):
    """A clone of a keras-hub text backbone whose encoder layers are `AdapterTransformerEncoder`s."""
    encoders = {id(layer) for layer in transformer_encoders(backbone)}

    def clone(layer):
        if id(layer) not in encoders:
            return _fresh(layer)
        rank, width = output_rank_and_width(layer)
        if rank != 3:
            raise _checks.invalid(
                "model", "a text backbone whose transformer layers are each called once (ALBERT shares one)",
                backbone.name,
            )
        return AdapterTransformerEncoder(
            **layer.get_config(),
            adapter_units=bottleneck_units(width, reduction_factor),
            adapter_activation=activation,
            adapter_positions=positions,
            train_layer_norm=train_layer_norm,
        )

    return keras.models.clone_model(backbone, clone_function=clone)


def copy_weights(source, target):
    """Assigns every weight of `source` to the variable of `target` with the same path.

    `target` is `source` rebuilt with more layers (the adapters), so each
    variable of `source` has exactly one counterpart; anything else is an
    error rather than a silently half-copied model.
    """
    by_path = {}
    for variable in target.weights:
        by_path.setdefault(variable.path, []).append(variable)
    for variable in source.weights:
        matches = by_path.get(variable.path, [])
        if len(matches) != 1 or tuple(matches[0].shape) != tuple(variable.shape):
            raise _checks.invalid(
                "model", "a model whose rebuilt copy has each of its weights at the same path",
                f"{len(matches)} matches for {variable.path} {tuple(variable.shape)}",
            )
        matches[0].assign(variable)


def adapter_layers(model):
    """The adapters inside `model`: `BottleneckAdapter`s and adapted encoder layers."""
    return [
        layer for layer in model._flatten_layers(include_self=False, recursive=True)
        if isinstance(layer, (BottleneckAdapter, AdapterTransformerEncoder))
    ]


def freeze_all_but_adapters(model, train_layer_norm=False):
    """Freezes every layer of functional `model` except its adapters (and LayerNorms if asked).

    `BottleneckAdapter`s train; `AdapterTransformerEncoder`s train their
    adapters (and LayerNorms if they were built so) and keep their own
    weights frozen; `LayerNormalization` layers train with
    `train_layer_norm`; everything else (BatchNorm in inference mode
    included) is frozen.
    """
    model.trainable = True
    for layer in model.layers:
        if isinstance(layer, AdapterTransformerEncoder):
            layer.trainable = True
            layer._freeze_base()
        else:
            layer.trainable = isinstance(layer, BottleneckAdapter) or (
                train_layer_norm and isinstance(layer, keras.layers.LayerNormalization)
            )
