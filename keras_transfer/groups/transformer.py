"""Layer groups of keras-hub transformer encoders.

A transformer encoder splits naturally into the embedding layers, one group
per transformer layer (from input to output), and what comes after the last
transformer layer (BERT's pooler, or a final normalization). These are the
groups `FreezeSchedule` and `DiscriminativeLR` address, so layer-wise learning
rate decay over a 12-layer BERT is `DiscriminativeLR(decay=0.9)`.
"""

import collections
import re

import keras


_TRANSFORMER_NAME = re.compile(r"transformer_layer_(\d+)")
POOLER_LAYER_NAMES = ("pooled_dense", "pooler_dense", "pooler")


def transformer_layers(backbone):
    """The transformer layers of a keras-hub text backbone, input to output."""
    layers = getattr(backbone, "transformer_layers", None)
    if layers:
        return list(layers)
    numbered = []
    for layer in backbone.layers:
        match = _TRANSFORMER_NAME.fullmatch(layer.name)
        if match:
            numbered.append((int(match.group(1)), layer))
    return [layer for _, layer in sorted(numbered, key=lambda item: item[0])]


def is_pooler(layer):
    return layer.name in POOLER_LAYER_NAMES


def encoder_groups(backbone, *, use_pooler):
    """`{group: [layers]}` of `backbone`, from input to output.

    Groups: `"embeddings"` (every layer before the first transformer layer),
    `"transformer_layer_0"` .. `"transformer_layer_{n-1}"`, then `"pooler"`
    when `use_pooler` and the backbone has one, and `"final_norm"` for other
    layers with weights after the last transformer layer. An unused pooler is
    in no group.

    Raises:
        ValueError: when no transformer layer can be found.
    """
    stack = transformer_layers(backbone)
    if not stack:
        raise ValueError(
            f"Could not find the transformer layers of backbone {backbone.name!r} "
            f"({backbone.__class__.__name__}): it has no `transformer_layers` attribute and no "
            "layer named `transformer_layer_<i>`. Text classifiers need a keras-hub "
            "transformer encoder (BERT, RoBERTa, DistilBERT, DeBERTa, ...)."
        )
    ids = {id(layer) for layer in stack}
    inputs = {id(layer) for layer in backbone._input_layers} if hasattr(backbone, "_input_layers") else set()
    groups = collections.OrderedDict()
    groups["embeddings"] = []
    seen_transformer = False
    after = []
    for layer in backbone.layers:
        if id(layer) in inputs or isinstance(layer, keras.layers.InputLayer):
            continue
        if id(layer) in ids:
            seen_transformer = True
            continue
        if not seen_transformer:
            groups["embeddings"].append(layer)
        else:
            after.append(layer)
    for i, layer in enumerate(stack):
        groups[f"transformer_layer_{i}"] = [layer]
    pooler = [layer for layer in after if is_pooler(layer)]
    if use_pooler and pooler:
        groups["pooler"] = pooler
    rest = [layer for layer in after if not is_pooler(layer) and layer.weights]
    if rest:
        groups["final_norm"] = rest
    return groups


def unused_pooler_layers(backbone, *, use_pooler):
    """Pooler layers that the classifier does not use (kept frozen)."""
    if use_pooler:
        return []
    stack = transformer_layers(backbone)
    last = backbone.layers.index(stack[-1]) if stack and stack[-1] in backbone.layers else -1
    return [layer for layer in backbone.layers[last + 1 :] if is_pooler(layer)]
