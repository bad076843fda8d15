"""Argument checks of `DomainAdaptationModel`: training batches, regularisers, `from_logits`."""

import numpy as np

from keras_transfer import _checks
from keras_transfer.domain_adaptation.domain_regularizer import DomainRegularizer
from keras_transfer.models import _outputs


def check_batches(x):
    if isinstance(x, dict) and set(x) == {"source", "target"}:
        return
    if isinstance(x, dict):
        received = sorted(x)
    elif hasattr(x, "shape") and not isinstance(getattr(x, "shape"), type(None)):
        received = f"{type(x).__name__} of shape {tuple(x.shape)}"
    else:
        received = type(x).__name__
    raise _checks.invalid(
        "x",
        "training batches {'source': source inputs, 'target': target inputs} with source labels",
        received,
        hint="Build the training data with keras_transfer.data.domain_adaptation_dataset("
        "source=(x_s, y_s), target=x_t, batch_size=...).",
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


def check_fit_weights(y, sample_weight):
    """In-memory `sample_weight` of `fit`: one non-negative weight per source label."""
    if sample_weight is None:
        return
    weights = np.asarray(sample_weight)
    if weights.dtype == object or not np.issubdtype(weights.dtype, np.number):
        raise _checks.invalid("sample_weight", "an array of non-negative numbers, one per source example",
                              type(sample_weight).__name__, error=TypeError)
    if y is not None and hasattr(y, "__len__") and len(weights) != len(y):
        raise _checks.invalid("sample_weight", f"one weight per source example ({len(y)})",
                              f"{len(weights)} weights")
    if np.any(weights < 0) or not np.all(np.isfinite(weights)):
        raise _checks.invalid("sample_weight", "non-negative finite weights", float(np.min(weights)))
