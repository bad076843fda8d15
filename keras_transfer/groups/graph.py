"""Assigning the layers of a functional backbone to named layer groups.

A group is a contiguous stage of the network, from input to output (VGG16:
`block1`..`block5`; ResNet50: `stem`, `conv2`..`conv5`). A registered backbone
names its groups with regular expressions on layer names. Layers whose names
carry no stage (Keras gives generic names such as `conv2d_3` or `add_1` to
shortcut convolutions and merges) are placed by the graph instead: the layers
between two consecutive *cut points* (layers that every input-to-output path
goes through) form a segment, and a generic layer joins the group that most
named layers of its segment belong to. That places, e.g., Xception's shortcut
convolutions in the block they bypass and InceptionV3's branch convolutions in
the `mixedN` block they end in.
"""

import collections
import re


def _parents(layer, members):
    parents = []
    for node in getattr(layer, "_inbound_nodes", []):
        for parent in node.parent_nodes:
            op = parent.operation
            if id(op) in members:
                parents.append(op)
    return parents


def topological_layers(model):
    """The layers of a functional `model` in a topological order."""
    layers = list(model.layers)
    members = {id(layer): layer for layer in layers}
    order = {id(layer): i for i, layer in enumerate(layers)}
    parents = {id(layer): _parents(layer, members) for layer in layers}
    children = collections.defaultdict(list)
    indegree = {}
    for layer in layers:
        indegree[id(layer)] = len(parents[id(layer)])
        for parent in parents[id(layer)]:
            children[id(parent)].append(layer)
    ready = sorted((l for l in layers if indegree[id(l)] == 0), key=lambda l: order[id(l)])
    result = []
    while ready:
        layer = ready.pop(0)
        result.append(layer)
        for child in children[id(layer)]:
            indegree[id(child)] -= 1
            if indegree[id(child)] == 0:
                ready.append(child)
        ready.sort(key=lambda l: order[id(l)])
    if len(result) != len(layers):  # not a DAG we can read: keep Keras's order
        return layers, parents
    return result, parents


def cut_points(layers, parents):
    """Flags, per layer, whether every path through the graph passes it."""
    position = {id(layer): i for i, layer in enumerate(layers)}
    cover = [0] * (len(layers) + 1)
    for layer in layers:
        for parent in parents[id(layer)]:
            start, end = position[id(parent)] + 1, position[id(layer)]
            if start < end:
                cover[start] += 1
                cover[end] -= 1
    flags, running = [], 0
    for i in range(len(layers)):
        running += cover[i]
        flags.append(running == 0)
    return flags


def segments(model):
    """Consecutive runs of layers, each closed by a cut point."""
    layers, parents = topological_layers(model)
    flags = cut_points(layers, parents)
    result, current = [], []
    for layer, is_cut in zip(layers, flags):
        current.append(layer)
        if is_cut:
            result.append(current)
            current = []
    if current:
        result.append(current)
    return result


def assign_groups(model, patterns):
    """Maps group names to layers of `model`, following `patterns`.

    Args:
        model: a functional `keras.Model`.
        patterns: ordered `(group_name, regex)` pairs; a layer whose name fully
            matches a regex belongs to the first such group.

    Returns:
        An ordered dict `group_name -> [layers]`, in the order of `patterns`;
        input layers are left out.
    """
    names = [name for name, _ in patterns]
    compiled = [(name, re.compile(regex)) for name, regex in patterns]

    def direct(layer):
        for name, regex in compiled:
            if regex.fullmatch(layer.name):
                return name
        return None

    groups = collections.OrderedDict((name, []) for name in names)
    previous = None
    for segment in segments(model):
        labels = [direct(layer) for layer in segment]
        counts = collections.Counter(label for label in labels if label)
        if counts:
            # Majority; a tie goes to the later group (the stage being closed).
            label = max(counts, key=lambda n: (counts[n], names.index(n)))
        else:
            label = previous or names[0]
        previous = label
        for layer, own in zip(segment, labels):
            if layer.__class__.__name__ == "InputLayer":
                continue
            groups[own or label].append(layer)
    return groups


_NORMALIZATION = ("BatchNormalization", "LayerNormalization", "GroupNormalization", "UnitNormalization")


def generic_groups(model):
    """Groups for a backbone the registry does not know.

    Each segment (see module docstring) that holds weights becomes a group
    named after its first layer with weights; weightless segments and segments
    holding only normalization layers join the group before them (a BatchNorm
    or an activation belongs to the convolution before it); leading weightless
    layers join the first group.
    """
    groups = collections.OrderedDict()
    pending = []
    for segment in segments(model):
        segment = [l for l in segment if l.__class__.__name__ != "InputLayer"]
        weighted = [l for l in segment if l.weights]
        only_norm = weighted and all(l.__class__.__name__ in _NORMALIZATION for l in weighted)
        if groups and (not weighted or only_norm):
            groups[next(reversed(groups))].extend(segment)
            continue
        pending.extend(segment)
        if weighted:
            groups[weighted[0].name] = pending
            pending = []
    if pending:
        groups[model.name] = pending
    return groups
