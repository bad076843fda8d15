"""PEFT on a keras-hub transformer backbone, applied while its owner model is built.

keras-hub transformer blocks create their attention and feed-forward layers
themselves (in `build`), so the projections cannot be swapped for other
classes through a config, and a built block refuses new sublayers. What the
owner model (`keras_transfer.models.TextClassifier`) does instead: it records
the PEFT spec in its own config and, each time it is constructed (from
`peft.lora(...)` or from `load_model`), applies it to its freshly built
backbone before tracing its graph. The target projections change class in
place to the PEFT layer of their Keras class (which only adds variables and
overrides `kernel`, as Keras's own `enable_lora` does) and get their
variables, so the saved variables and the rebuilt ones always line up.
"""

import json

import keras

from keras_transfer import _checks
from keras_transfer.peft import _spec
from keras_transfer.peft._kernel import PeftKernel

# IA3 on a transformer block: keys and values (outputs), the feed-forward activations (inputs of its output layer).
HUB_IA3 = {"key": "output", "value": "output", "feedforward_output_dense": "input"}
_MARK = "_keras_transfer_peft"


def default_targets(backbone, method):
    if method == "ia3":
        return dict(HUB_IA3)
    return dict.fromkeys(backbone.default_lora_layer_names())


def peft_layers(model):
    """The PEFT layers inside `model` (any Keras layer or model)."""
    return [layer for layer in model._flatten_layers(include_self=False, recursive=True) if isinstance(layer, PeftKernel)]


def adapt_backbone(backbone, spec):
    """Applies `spec` (from `_spec.check_spec`) to keras-hub `backbone` in place.

    Every layer of the backbone is frozen but the target projections, whose
    PEFT variables train; dropout stays active. Applying the same spec twice
    is a no-op (an owner rebuilt around the same backbone object).
    """
    recorded = getattr(backbone, _MARK, None)
    if recorded is not None:
        if recorded != json.dumps(spec, sort_keys=True):
            raise _checks.invalid("peft", f"the spec this backbone was adapted with ({recorded})", spec)
        return
    if peft_layers(backbone):
        raise _checks.invalid("backbone", "a backbone without PEFT layers (merge it first)", backbone.name)
    candidates = {}
    for layer in backbone._flatten_layers(include_self=False, recursive=True):
        if type(layer) in _spec.PEFT_CLASSES and not getattr(layer, "lora_enabled", False):
            candidates.setdefault(layer.name, []).append(layer)
    if not candidates:
        raise _spec.no_candidates(backbone.name, f"Backbone {backbone.__class__.__name__} has none.")
    given = spec["targets"] is not None
    targets = _spec.as_roles(spec["targets"]) if given else default_targets(backbone, spec["method"])
    chosen = _spec.match(list(candidates), targets, strict=given, where=f"of backbone {backbone.__class__.__name__}")

    backbone.trainable = True
    for layer in backbone._flatten_layers(include_self=False, recursive=True):
        if not layer._layers:  # leaves: a container (a transformer block) stays trainable, as its targets
            layer.trainable = False
    for name, role in chosen.items():
        for layer in candidates[name]:
            layer.trainable = True
            layer.__class__ = _spec.PEFT_CLASSES[type(layer)]
            layer._set_peft_options(**_spec.layer_options(spec, role))
            layer._enable_peft()
    for layer in backbone._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.Dropout):  # LoRA trains with the encoder's dropout
            layer.trainable = True
    object.__setattr__(backbone, _MARK, json.dumps(spec, sort_keys=True))
