"""Argument checks of the domain adaptation models: training batches, in-memory sample weights, regularisers, `from_logits`."""

import numpy as np

from keras_transfer import _checks
from keras_transfer.domain_adaptation.domain_regularizer import DomainRegularizer
from keras_transfer.models import _outputs


_LABELLED = {"labelled_target", "labelled_target_labels"}
_HINT = ("Build the training data with keras_transfer.data.domain_adaptation_dataset(source=(x_s, y_s), target=x_t, "
         "batch_size=...) (labelled target examples: labelled_target=(x_l, y_l)).")


def check_batches(x, needs_target=True, needs_labelled=False):
    """Training inputs `{"source", "target"[, "labelled_target", "labelled_target_labels"]}` as the model needs them."""
    keys = set(x) if isinstance(x, dict) else None
    if keys is not None and "source" in keys and keys <= {"source", "target"} | _LABELLED and (
            not keys & _LABELLED or _LABELLED <= keys):
        missing = [key for key, needed in (("target", needs_target), ("labelled_target", needs_labelled))
                   if needed and key not in keys]
        if not missing:
            return
        what = {"target": "unlabelled target inputs under 'target' (the alignment and regularisers use them)",
                "labelled_target": "labelled target examples under 'labelled_target' and 'labelled_target_labels' "
                                   "(ContrastiveSemanticAlignment pairs them with the source)"}
        raise _checks.invalid("x", "training batches with " + " and ".join(what[k] for k in missing), sorted(keys),
                              hint=_HINT)
    if keys is not None:
        received = sorted(keys)
    elif hasattr(x, "shape") and not isinstance(getattr(x, "shape"), type(None)):
        received = f"{type(x).__name__} of shape {tuple(x.shape)}"
    else:
        received = type(x).__name__
    raise _checks.invalid(
        "x",
        "training batches {'source': source inputs, 'target': target inputs} with source labels (and, for labelled "
        "target examples, 'labelled_target' and 'labelled_target_labels')",
        received, hint=_HINT,
    )


def check_regularizers(regularizers):
    if regularizers is None:
        return []
    if isinstance(regularizers, DomainRegularizer):
        regularizers = [regularizers]
    if not isinstance(regularizers, (list, tuple)):
        raise _checks.invalid("regularizers", "a list of keras_transfer.losses.DomainRegularizer (BSP, MCC, AFN, "
                              "TargetEntropy, ...)", regularizers, error=TypeError)
    for regularizer in regularizers:
        if not isinstance(regularizer, DomainRegularizer):
            raise _checks.invalid("regularizers", "a list of keras_transfer.losses.DomainRegularizer (BSP, MCC, AFN, "
                                  "TargetEntropy, ...)", f"a list holding {regularizer!r}", error=TypeError)
    names = [r.name for r in regularizers]
    reserved = {"task", "alignment", "domain"}
    if len(set(names)) != len(names) or reserved & set(names):
        raise _checks.invalid("regularizers", "regularizers of distinct names (each logs '{name}_loss'), none of "
                              f"{sorted(reserved)}", f"names {names}")
    return list(regularizers)


def check_from_logits(from_logits, classifier, needed):
    if from_logits is not None:
        if not isinstance(from_logits, bool):
            raise _checks.invalid("from_logits", "None (read from the classifier), True or False", from_logits,
                                  error=TypeError)
        return from_logits
    kind = _outputs.output_kind(classifier)
    if kind in (_outputs.PROBABILITIES, _outputs.LOGITS):
        return kind == _outputs.LOGITS
    if needed:
        raise _checks.invalid(
            "from_logits", "True or False: JMMD and the regularisers read the classifier's class predictions, and "
            "its last layer does not say whether they are logits or probabilities", from_logits)
    return None


def check_sample_weight(x, sample_weight):
    """`fit(..., sample_weight=...)` on in-memory batches: one finite, non-negative weight per source example."""
    if sample_weight is None:
        return
    weights = np.asarray(sample_weight)
    if weights.dtype == object or not np.issubdtype(weights.dtype, np.number):
        raise _checks.invalid("sample_weight", "an array of numbers", type(sample_weight).__name__, error=TypeError)
    source = x.get("source") if isinstance(x, dict) else None
    n = len(source) if hasattr(source, "__len__") else None
    if weights.ndim == 0 or (n is not None and len(weights) != n):
        raise _checks.invalid("sample_weight", f"one weight per source example ({n})",
                              f"{weights.size if weights.ndim == 0 else len(weights)} weights")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise _checks.invalid("sample_weight", "finite, non-negative weights", f"weights from {weights.min()}")
