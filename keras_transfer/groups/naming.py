"""Naming a model's layer groups: read from the model, inferred from its graph, or given.

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
from keras_transfer.groups import graph


def all_layers(model):
    """Every layer inside `model` (nested ones included), not `model` itself."""
    return list(model._flatten_layers(include_self=False, recursive=True))


def _resolve_entry(model, entry, group):
    layers = all_layers(model)
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
        groups = graph.generic_groups(backbone)
        position = model.layers.index(backbone)
        head = [layer for layer in model.layers[position + 1 :] if layer.weights]
        if head:
            groups["head"] = head
        return groups
    groups = graph.generic_groups(model)
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
                f"Available groups: {', '.join(mapping)}, or \"all\" for every group."
            )
    return list(value)


def resolve_groups(model, groups=None):
    """`layer_groups(model, groups)`, refusing a model that has none."""
    mapping = layer_groups(model, groups)
    if not mapping:
        raise ValueError(f"Model {model.name!r} has no layer groups; pass `groups={{name: [layer names]}}`.")
    return mapping
