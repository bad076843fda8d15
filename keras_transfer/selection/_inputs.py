"""Input checks shared by the transferability scores: features, labels, source probabilities.

Every score validates its arrays here before computing anything; messages
name the argument and what was received (`keras_transfer._checks.invalid`).
Arrays come back in float64 (features, probabilities) and as class codes
`0..C-1` (labels), so the scores compute in one precision.
"""

import numpy as np

from keras_transfer import _checks
from keras_transfer.data import checks

_FEATURES = "a 2-D array of features, shape (n_samples, n_features)"
_PROBABILITIES = "a 2-D array of source-class probabilities, shape (n_samples, source_classes)"
# A float32 softmax sums to 1 within ~1e-6; anything further off is not a distribution.
_SUM_TOLERANCE = 1e-3
_SOFTMAX_HINT = "Logits? Apply a softmax first: `keras.ops.softmax(logits)`."


def check_labels(labels, name="labels"):
    """Class codes `(n,)` int64 in `0..C-1` from integer ids `(n,)` / `(n, 1)` or one-hot rows `(n, C)`.

    At least two classes, and at least two samples in each.
    """
    expected = "integer class ids of shape (n,) or one-hot rows of shape (n, classes)"
    labels = checks.as_array(name, labels, expected)
    if labels.ndim == 0 or len(labels) == 0:
        raise _checks.invalid(name, expected, f"an array of shape {labels.shape}")
    checks.check_finite(name, labels.reshape(len(labels), -1).astype("float64"), "label")
    if labels.ndim == 2 and labels.shape[1] > 1:
        rows = labels.astype("float64")
        if not (np.isin(rows, (0.0, 1.0)).all() and (rows.sum(axis=1) == 1).all()):
            bad = int(np.argmax(~(np.isin(rows, (0.0, 1.0)).all(axis=1) & (rows.sum(axis=1) == 1))))
            raise _checks.invalid(
                name, "one-hot rows (a single 1 per row, zeros elsewhere)", f"row {bad} = {labels[bad].tolist()}",
                hint="Pass class ids, or `np.argmax(soft_labels, axis=1)` for soft labels.",
            )
        labels = np.argmax(rows, axis=1)
    elif labels.ndim == 2:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise _checks.invalid(name, expected, f"an array of shape {labels.shape}")
    if not np.all(labels == np.round(labels)):
        fractional = float(labels[labels != np.round(labels)][0])
        raise _checks.invalid(name, "integer class ids", f"fractional labels such as {fractional}")
    classes, codes, counts = np.unique(labels.astype("int64"), return_inverse=True, return_counts=True)
    if len(classes) < 2:
        raise _checks.invalid(
            name, "at least 2 classes (a score ranks how well features separate classes)",
            f"{len(labels)} labels, all of class {classes[0]}",
        )
    if counts.min() < 2:
        few = [int(c) for c in classes[counts < 2]]
        raise _checks.invalid(name, "at least 2 samples of every class", f"1 sample of class(es) {few}")
    return codes.reshape(-1).astype("int64")


def check_features(features, count, name="features"):
    """`features` as a finite float64 `(count, dim)` array."""
    features = checks.as_array(name, features, _FEATURES)
    if features.ndim != 2:
        hint = "Flatten them with `features.reshape(len(features), -1)`." if features.ndim > 2 else None
        raise _checks.invalid(name, _FEATURES, f"an array of shape {features.shape}", hint=hint)
    if len(features) != count:
        raise _checks.invalid(name, f"one row per label ({count} labels)", f"{len(features)} rows, shape {features.shape}")
    if features.shape[1] == 0:
        raise _checks.invalid(name, "at least one feature per sample", f"an array of shape {features.shape}")
    features = features.astype("float64")
    return checks.check_finite(name, features, "sample")


def check_probabilities(probabilities, count, name="source_probabilities"):
    """Source-head probabilities as a float64 `(count, source_classes)` array of rows summing to 1."""
    probabilities = checks.as_array(name, probabilities, _PROBABILITIES)
    if probabilities.ndim != 2 or probabilities.shape[1] == 0:
        raise _checks.invalid(name, _PROBABILITIES, f"an array of shape {probabilities.shape}")
    if len(probabilities) != count:
        raise _checks.invalid(
            name, f"one row per label ({count} labels)", f"{len(probabilities)} rows, shape {probabilities.shape}"
        )
    probabilities = checks.check_finite(name, probabilities.astype("float64"), "sample")
    if probabilities.min() < 0:
        bad = int(np.argmin(probabilities.min(axis=1)))
        raise _checks.invalid(
            name, "probabilities >= 0", f"row {bad} holding {float(probabilities[bad].min())}", hint=_SOFTMAX_HINT
        )
    sums = probabilities.sum(axis=1)
    off = np.abs(sums - 1.0) > _SUM_TOLERANCE
    if off.any():
        bad = int(np.argmax(off))
        raise _checks.invalid(
            name, "rows that sum to 1 (the source head's softmax output)", f"row {bad} summing to {float(sums[bad]):.6g}",
            hint=_SOFTMAX_HINT,
        )
    return probabilities


def one_hot(codes):
    """`(n, C)` float64 one-hot rows of class codes `0..C-1`."""
    return np.eye(int(codes.max()) + 1)[codes]
