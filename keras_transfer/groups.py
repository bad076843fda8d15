"""Layer groups of a model: naming, freezing, describing.

A *group* is a named, ordered part of a model (a backbone stage, or the new
head) that freezing schedules and per-group learning rates address. Models
from `build_classifier` carry their groups (`model.layer_groups`); for any
other model the groups are read from the graph, or given by the user as lists
of layer names / regular expressions.
"""

import collections
import re

import keras

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.backbones import groups as backbone_groups


def _all_layers(model):
    return list(model._flatten_layers(include_self=False, recursive=True))


def _resolve_entry(model, entry, group):
    layers = _all_layers(model)
    exact = [layer for layer in layers if layer.name == entry]
    if exact:
        return exact
    try:
        regex = re.compile(entry)
    except re.error:
        regex = None
    matched = [layer for layer in layers if regex is not None and regex.fullmatch(layer.name)]
    if not matched:
        raise ValueError(
            f"Invalid value received for argument `groups`: group {group!r}: no layer of model {model.name!r} is named or matches {entry!r}."
            f"{_checks.suggest(entry, [l.name for l in layers])}"
        )
    return matched


def _inferred_groups(model):
    """Groups for a model that does not carry its own."""
    nested = [
        layer
        for layer in model.layers
        if isinstance(layer, keras.Model) and layer.weights and hasattr(layer, "_inbound_nodes")
    ]
    if len(nested) == 1:
        backbone = nested[0]
        groups = backbone_groups.generic_groups(backbone)
        position = model.layers.index(backbone)
        head = [layer for layer in model.layers[position + 1 :] if layer.weights]
        if head:
            groups["head"] = head
        return groups
    groups = backbone_groups.generic_groups(model)
    if groups:
        last = next(reversed(groups))
        groups["head"] = groups.pop(last)
    return groups


@keras_transfer_export("keras_transfer.layer_groups")
def layer_groups(model, groups=None):
    """The named layer groups of `model`, from input to output.

    Args:
        model: a `keras.Model`. Models from `keras_transfer.build_classifier`
            carry their groups (backbone stages, then `"head"`); for other
            models each stage of the graph that holds weights is a group, named
            after its last layer with weights, and the last one is `"head"`.
        groups: optional explicit groups, `{name: [layer names or regexes]}`
            (a regex matches whole layer names, nested layers included).

    Returns:
        An ordered dict `name -> [keras.layers.Layer]`.

    Example:

    >>> import keras_transfer
    >>> model = keras_transfer.build_classifier(
    ...     "vgg16", 3, weights=None, input_shape=(32, 32, 3))
    >>> list(keras_transfer.layer_groups(model))
    ['block1', 'block2', 'block3', 'block4', 'block5', 'head']
    """
    if not isinstance(model, keras.Model):
        raise _checks.invalid("model", "a keras.Model", model, error=TypeError)
    if groups is not None:
        if not isinstance(groups, dict) or not groups:
            raise _checks.invalid("groups", "a non-empty dict {group name: [layer names or patterns]}", groups, error=TypeError)
        resolved = collections.OrderedDict()
        for name, entries in groups.items():
            if isinstance(entries, str):
                entries = [entries]
            layers = []
            for entry in entries:
                for layer in _resolve_entry(model, entry, name):
                    if layer not in layers:
                        layers.append(layer)
            resolved[name] = layers
        return resolved
    own = getattr(model, "layer_groups", None)
    if own is not None:
        return collections.OrderedDict(own)
    return _inferred_groups(model)


def _is_batchnorm(layer):
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
    names = check_group_names("trainable", trainable, mapping)
    state = {}
    for name, layers in mapping.items():
        for layer in layers:
            state[layer] = name in names
    apply_trainable_state(model, state, train_batchnorm=train_batchnorm)


def check_group_names(argument, value, mapping):
    """Validates a list of group names (or `"all"`) against `mapping`."""
    if isinstance(value, str):
        if value == "all":
            return list(mapping)
        value = [value]
    if not isinstance(value, (list, tuple, set)):
        raise _checks.invalid(argument, 'a list of group names or "all"', value, error=TypeError)
    for name in value:
        if name not in mapping:
            raise ValueError(
                f"Unknown group {name!r} in argument `{argument}`.{_checks.suggest(name, mapping)} "
                f"Available groups: {', '.join(mapping)}."
            )
    return list(value)


def apply_trainable_state(model, state, *, train_batchnorm=False):
    """Applies `{layer: trainable}` to grouped layers, fixing their containers.

    A grouped layer's sublayers follow it, except BatchNormalization layers,
    which stay frozen unless `train_batchnorm`. Containers (e.g. a nested
    backbone) become trainable when any of their layers is, so Keras collects
    those variables; layers that are not grouped keep their current state.
    """
    layers = [model] + _all_layers(model)
    wanted = {layer: layer.trainable for layer in layers}
    for layer, value in state.items():
        for sub in layer._flatten_layers(include_self=True, recursive=True):
            wanted[sub] = bool(value) and (train_batchnorm or not _is_batchnorm(sub))
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
    return {layer: layer.trainable for layer in [model] + _all_layers(model)}


def restore_trainable(model, snapshot):
    """Restores a `trainable_snapshot` exactly (outermost layers first)."""
    for layer in [model] + _all_layers(model):
        if layer in snapshot:
            layer.trainable = snapshot[layer]


@keras_transfer_export("keras_transfer.describe_groups")
def describe_groups(model, groups=None, print_fn=print):
    """Prints (and returns) each group: its layers, parameters, what trains.

    Example:

    >>> import keras_transfer
    >>> model = keras_transfer.build_classifier(
    ...     "vgg16", 3, weights=None, input_shape=(32, 32, 3))
    >>> text = keras_transfer.describe_groups(model, print_fn=None)
    >>> text.splitlines()[2].split()[:3]
    ['block1', '3', '38,720']
    """
    mapping = layer_groups(model, groups)
    header = f"{'group':<14}{'layers':>7}{'params':>14}{'trainable':>14}  state      layers (first .. last)"
    lines = [f"Layer groups of {model.name!r}", header]
    footnote = False
    for name, layers in mapping.items():
        params = sum(int(_size(v)) for layer in layers for v in layer.weights)
        trainable = sum(int(_size(v)) for layer in layers for v in layer.trainable_weights)
        weighted = [layer for layer in layers if layer.weights]
        others = [layer for layer in weighted if not _is_batchnorm(layer)]
        if not weighted:
            status = "-"
        elif trainable == 0:
            status = "frozen"
        elif trainable == params:
            status = "trainable"
        elif others and all(layer.trainable for layer in others) and not any(
            layer.trainable for layer in weighted if _is_batchnorm(layer)
        ):
            status = "trainable*"
            footnote = True
        else:
            status = "partial"
        span = f"{layers[0].name} .. {layers[-1].name}" if layers else ""
        lines.append(f"{name:<14}{len(layers):>7}{params:>14,}{trainable:>14,}  {status:<10} {span}")
    if footnote:
        lines.append("* BatchNorm layers stay frozen (inference mode); see `train_batchnorm`.")
    text = "\n".join(lines)
    if print_fn is not None:
        print_fn(text)
    return text


def _size(variable):
    size = 1
    for dim in variable.shape:
        size *= int(dim)
    return size
