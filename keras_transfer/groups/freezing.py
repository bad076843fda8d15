"""Freezing layer groups: which groups train, with BatchNorm kept in inference mode."""

import keras

from keras_transfer.api_export import keras_transfer_export
from keras_transfer.groups.naming import all_layers
from keras_transfer.groups.naming import check_group_names
from keras_transfer.groups.naming import layer_groups


def is_batchnorm(layer):
    return isinstance(layer, keras.layers.BatchNormalization)


@keras_transfer_export("keras_transfer.set_trainable")
def set_trainable(model, trainable, *, groups=None, train_batchnorm=False):
    """Sets which groups of `model` train; the others are frozen.

    Unlike `layer.trainable = ...` on a nested backbone, this keeps the rest of
    the model as it is and leaves BatchNormalization layers frozen (inference
    mode: moving statistics and scale/offset unchanged) unless
    `train_batchnorm=True`, as the Keras fine-tuning guide recommends. Layers
    outside every group keep their state. After a change, recompile (or use
    `keras_transfer.callbacks.FreezeSchedule` during `fit`).

    Args:
        model: a `keras.Model`.
        trainable: group names that train, or `"all"`; every other group is
            frozen.
        groups: explicit groups, as in `layer_groups`.
        train_batchnorm: whether BatchNormalization layers of trainable groups
            train too. Defaults to `False`.

    Example:

    >>> import keras_transfer
    >>> model = keras_transfer.build_classifier(
    ...     "vgg16", 3, weights=None, input_shape=(32, 32, 3))
    >>> keras_transfer.set_trainable(model, ["block5", "head"])
    >>> [g for g, ls in keras_transfer.layer_groups(model).items()
    ...  if any(l.trainable for l in ls)]
    ['block5', 'head']
    """
    mapping = layer_groups(model, groups)
    freeze_groups(model, mapping, check_group_names("trainable", trainable, mapping), train_batchnorm=train_batchnorm)


def freeze_groups(model, mapping, trainable, *, train_batchnorm=False):
    """Makes exactly the groups `trainable` of `mapping` train; the other groups are frozen.

    Layers outside every group keep their state; see `apply_trainable_state`.
    """
    trainable = set(trainable)
    state = {layer: name in trainable for name, layers in mapping.items() for layer in layers}
    apply_trainable_state(model, state, train_batchnorm=train_batchnorm)


def groups_to_train(freeze, mapping, *, argument="freeze", head="head"):
    """The groups that train for a build-time `freeze` argument.

    `True`: only `head`; `False`: every group; a list: every group but the
    listed ones, which must be groups other than `head`.
    """
    names = list(mapping)
    if freeze is True:
        return [head]
    if freeze is False:
        return names
    frozen = check_group_names(argument, list(freeze), {name: None for name in names if name != head})
    return [name for name in names if name not in frozen]


def apply_trainable_state(model, state, *, train_batchnorm=False):
    """Applies `{layer: trainable}` to grouped layers, fixing their containers.

    A grouped layer's sublayers follow it, except BatchNormalization layers,
    which stay frozen unless `train_batchnorm`. Containers (e.g. a nested
    backbone) become trainable when any of their layers is, so Keras collects
    those variables; layers that are not grouped keep their current state.
    """
    layers = [model] + all_layers(model)
    wanted = {layer: layer.trainable for layer in layers}
    for layer, value in state.items():
        for sub in layer._flatten_layers(include_self=True, recursive=True):
            wanted[sub] = bool(value) and (train_batchnorm or not is_batchnorm(sub))
    # Containers, innermost first, are trainable iff one of their layers is.
    for layer in reversed(layers):
        children = list(layer._flatten_layers(include_self=False, recursive=False))
        if children and not layer._trainable_variables:
            wanted[layer] = any(wanted.get(child, child.trainable) for child in children)
    # Outermost first: the setter cascades, so inner layers are set after.
    for layer in layers:
        layer.trainable = wanted[layer]


def trainable_snapshot(model):
    """`{layer: trainable}` for `model` and every layer inside it."""
    return {layer: layer.trainable for layer in [model] + all_layers(model)}


def restore_trainable(model, snapshot):
    """Restores a `trainable_snapshot` exactly (outermost layers first)."""
    for layer in [model] + all_layers(model):
        if layer in snapshot:
            layer.trainable = snapshot[layer]
