"""What a PEFT method is made of: its checked spec, the layer options it gives, its targets."""

import re

import keras

from keras_transfer import _checks
from keras_transfer.peft.peft_conv1d import PeftConv1D
from keras_transfer.peft.peft_conv2d import PeftConv2D
from keras_transfer.peft.peft_dense import PeftDense
from keras_transfer.peft.peft_einsum_dense import PeftEinsumDense

# The Keras layer each PEFT layer reparametrises (exact types: a subclass may compute otherwise).
PEFT_CLASSES = {
    keras.layers.Dense: PeftDense,
    keras.layers.EinsumDense: PeftEinsumDense,
    keras.layers.Conv1D: PeftConv1D,
    keras.layers.Conv2D: PeftConv2D,
}
KERAS_CLASSES = {peft: base for base, peft in PEFT_CLASSES.items()}

# The layer options of each method (LoRA+ is LoRA with its optimizer: `lora_plus_optimizer`).
METHODS = {
    "lora": {},
    "rslora": {"rank_stabilized": True},
    "dora": {"dora": True},
    "ia3": {},
}
IA3_ROLES = ("output", "input")


def check_spec(method, rank=None, alpha=None, targets=None):
    """The checked spec `{"method", "rank", "alpha", "targets"}` (what a text model's config records)."""
    _checks.check_choice("method", method, tuple(METHODS))
    if method == "ia3":
        for name, value in (("rank", rank), ("alpha", alpha)):
            if value is not None:
                raise _checks.invalid(name, "None: IA3 learns scaling vectors, it has no rank or alpha", value)
    else:
        rank = _checks.check_int("rank", rank, minimum=1)
        if alpha is not None:
            alpha = _checks.check_float("alpha", alpha, minimum=0.0, exclusive_minimum=True)
    return {"method": method, "rank": rank, "alpha": alpha, "targets": _check_targets(targets, method)}


def _check_targets(targets, method):
    if targets is None:
        return None
    if isinstance(targets, str):
        targets = [targets]
    if method == "ia3" and isinstance(targets, dict):
        for name, role in targets.items():
            if not isinstance(name, str):
                raise _checks.invalid("targets", "layer names (str) as keys", targets, error=TypeError)
            _checks.check_choice(f"targets[{name!r}]", role, IA3_ROLES)
        return dict(targets)
    if not isinstance(targets, (list, tuple)) or not targets or not all(isinstance(t, str) for t in targets):
        expected = "None or a non-empty list of layer names (or regular expressions)"
        if method == "ia3":
            expected += ', or a dict {layer name: "output" | "input"}'
        raise _checks.invalid("targets", expected, targets, error=TypeError)
    return list(targets)


def layer_options(spec, role=None):
    """The PEFT layer arguments of `spec` for one target (`role`: IA3's `"output"` or `"input"`)."""
    if spec["method"] == "ia3":
        return {"ia3": role or "output"}
    return {"lora_rank": spec["rank"], "lora_alpha": spec["alpha"], **METHODS[spec["method"]]}


def as_roles(targets):
    """`{pattern: role}` from a spec's targets (a list: no role, IA3's default `"output"`)."""
    if isinstance(targets, dict):
        return dict(targets)
    return dict.fromkeys(targets)


def match(names, targets, *, strict, where):
    """`{name: role}` for the `names` that `targets` (`{pattern: role}`) match (full match).

    With `strict`, a pattern that matches none of `names` is refused; in any
    case at least one name must match.
    """
    chosen = {}
    for pattern, role in targets.items():
        hits = [name for name in names if name == pattern or re.fullmatch(pattern, name)]
        if strict and not hits:
            raise _checks.invalid(
                "targets", f"names (or regular expressions) of layers {where} can apply to", pattern,
                hint=f"Candidates: {_shown(names)}.{_checks.suggest(pattern, names)}",
            )
        for name in hits:
            chosen.setdefault(name, role)
    if not chosen:
        raise _checks.invalid(
            "targets", f"layers {where} can apply to", list(targets),
            hint=f"None matched; candidates: {_shown(names)}.",
        )
    return chosen


def no_candidates(model, why):
    return _checks.invalid(
        "model",
        "a model with Dense, EinsumDense, Conv1D or Conv2D layers to adapt (DepthwiseConv2D, SeparableConv2D and "
        "other layers have no PEFT form here)",
        model, hint=why,
    )


def _shown(names):
    names = list(names)
    return ", ".join(repr(n) for n in names[:8]) + (", ..." if len(names) > 8 else "") if names else "none"
