"""Shared pieces of the few-shot heads: similarity scores, label checks, dtype."""

import keras
import numpy as np

from keras_transfer import _checks
from keras_transfer.data import checks

METRICS = ("euclidean", "cosine")


def head_dtype(dtype):
    """Heads compute in float32 under a mixed-precision policy (like the
    output layer of `build_classifier`), unless a dtype is given."""
    if dtype is not None:
        return dtype
    policy = keras.config.dtype_policy()
    return "float32" if policy.compute_dtype != policy.variable_dtype else None


def l2_normalize(x, epsilon=1e-12):
    norm = keras.ops.sqrt(keras.ops.maximum(keras.ops.sum(keras.ops.square(x), axis=-1, keepdims=True), epsilon))
    return x / norm


def squared_euclidean(x, centers):
    """`(batch, dim)`, `(classes, dim)` -> `(batch, classes)` squared distances."""
    cross = keras.ops.matmul(x, keras.ops.transpose(centers))
    x_sq = keras.ops.sum(keras.ops.square(x), axis=-1, keepdims=True)
    c_sq = keras.ops.sum(keras.ops.square(centers), axis=-1)[None, :]
    return keras.ops.maximum(x_sq - 2.0 * cross + c_sq, 0.0)


def cosine(x, centers):
    """`(batch, dim)`, `(classes, dim)` -> `(batch, classes)` cosine similarities."""
    return keras.ops.matmul(l2_normalize(x), keras.ops.transpose(l2_normalize(centers)))


def check_activation(activation):
    if activation is not None and not isinstance(activation, str):
        raise _checks.invalid("activation", '"softmax", None (logits) or an activation name', activation, error=TypeError)
    if activation is not None:
        try:
            keras.activations.get(activation)
        except ValueError:
            raise _checks.invalid("activation", '"softmax", None (logits) or a Keras activation name', activation) from None
    return activation


def as_matrix(name, value):
    """A 2D float array `(n, dim)` from array-likes or tensors."""
    try:
        array = np.asarray(keras.ops.convert_to_numpy(value), dtype="float64")
    except (TypeError, ValueError):
        raise _checks.invalid(name, "a 2D array of numbers (n, dim)", value, error=TypeError) from None
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise _checks.invalid(name, "a non-empty 2D array (n, dim)", f"array of shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise _checks.invalid(name, "finite values", f"array with {int((~np.isfinite(array)).sum())} non-finite values")
    return array


def as_labels(name, value, length, num_classes):
    """Integer labels in `[0, num_classes)`, one per row, every class present."""
    try:
        labels = np.asarray(keras.ops.convert_to_numpy(value))
    except (TypeError, ValueError):
        raise _checks.invalid(name, "a 1D array of integer class ids", value, error=TypeError) from None
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1 or labels.shape[0] != length:
        raise _checks.invalid(name, f"a 1D array of {length} class ids (one per embedding)", f"array of shape {labels.shape}")
    labels = checks.check_labels(name, labels, num_classes=num_classes, why=f"the head has {num_classes} classes")
    labels = labels.astype("int64")
    missing = sorted(set(range(num_classes)) - set(labels.tolist()))
    if missing:
        raise _checks.invalid(
            name, f"at least one example of each of the {num_classes} classes", f"no example of classes {missing}"
        )
    return labels


def unit_rows(matrix):
    """Rows of a numpy matrix scaled to unit L2 norm."""
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)


def class_means(embeddings, labels, num_classes):
    """`(num_classes, dim)` mean embedding of each class (float64)."""
    sums = np.zeros((num_classes, embeddings.shape[1]))
    np.add.at(sums, labels, embeddings)
    counts = np.bincount(labels, minlength=num_classes)[:, None]
    return sums / counts
