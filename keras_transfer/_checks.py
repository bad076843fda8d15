"""Argument checks shared by the public API.

Every message names the argument, says what was expected and what was received,
in the style of Keras core: "Invalid value received for argument `rate`.
Expected a float between 0 and 1. Received: rate=1.5".
"""

import difflib
import math
import numbers

import numpy as np


def _received(name, value):
    text = repr(value)
    if len(text) > 120:
        text = text[:117] + "..."
    return f"Received: {name}={text}"


def invalid(name, expected, value, hint=None, error=ValueError):
    """Builds the exception for argument `name` (does not raise it)."""
    message = (
        f"Invalid value received for argument `{name}`. Expected {expected}. "
        f"{_received(name, value)}"
        + (f" (type {type(value).__name__})" if error is TypeError else "")
        + "."
    )
    if hint:
        message += f" {hint}"
    return error(message)


def check_int(name, value, *, minimum=None, maximum=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise invalid(name, "an integer", value, error=TypeError)
    if minimum is not None and value < minimum:
        raise invalid(name, f"an integer >= {minimum}", value)
    if maximum is not None and value > maximum:
        raise invalid(name, f"an integer <= {maximum}", value)
    return int(value)


def check_float(name, value, *, minimum=None, maximum=None, exclusive_minimum=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise invalid(name, "a number", value, error=TypeError)
    value = float(value)
    if not math.isfinite(value):
        raise invalid(name, "a finite number", value)
    if minimum is not None:
        bad = value <= minimum if exclusive_minimum else value < minimum
        if bad:
            op = ">" if exclusive_minimum else ">="
            raise invalid(name, f"a number {op} {minimum}", value)
    if maximum is not None and value > maximum:
        raise invalid(name, f"a number <= {maximum}", value)
    return value


def check_choice(name, value, choices):
    if value not in choices:
        close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=3)
        hint = f"Did you mean {', '.join(repr(c) for c in close)}?" if close else None
        raise invalid(name, f"one of {', '.join(repr(c) for c in choices)}", value, hint)
    return value


def suggest(value, candidates):
    """A ' Did you mean ...?' suffix for an unknown name, or ''."""
    close = difflib.get_close_matches(str(value), list(candidates), n=3, cutoff=0.5)
    return f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""


# --- Training data held in numpy arrays ------------------------------------
#
# Cheap checks run before `fit`: shapes, emptiness, NaN/Inf and class ids.
# Only numpy arrays are inspected. A `tf.data.Dataset` cannot be scanned
# without running its pipeline, so its contents are left to `fit` (its
# emptiness is checked when its cardinality is known).

_CHUNK_BYTES = 64 << 20


def _first_non_finite(array):
    """Index of the first example holding NaN or Inf, or `None`; chunked, no full copy."""
    if not np.issubdtype(array.dtype, np.floating) or array.size == 0:
        return None
    flat = array.reshape(len(array), -1)
    step = max(1, _CHUNK_BYTES // max(1, flat.shape[1] * flat.itemsize))
    for start in range(0, len(flat), step):
        finite = np.isfinite(flat[start : start + step]).all(axis=1)
        if not finite.all():
            return start + int(np.argmin(finite))
    return None


def check_examples(name, x, *, example_shape=None):
    """Checks a numpy array of examples: not empty, of `example_shape`, finite.

    `example_shape` is the model's input shape without the batch axis (`None`
    entries match anything). A transposed image array (channels first) gets a
    hint. Anything that is not a numpy array is returned unchecked.
    """
    if not isinstance(x, np.ndarray):
        return x
    if x.ndim == 0 or len(x) == 0:
        raise invalid(name, "at least one example", f"an array of shape {x.shape}")
    if example_shape is not None:
        expected = tuple(example_shape)
        got = tuple(x.shape[1:])
        fits = len(got) == len(expected) and all(e is None or e == g for e, g in zip(expected, got))
        if not fits:
            hint = None
            if len(got) == 3 and len(expected) == 3 and got[1:] + got[:1] == expected:
                hint = "The images look channels-first; move the channels last with `np.transpose(x, (0, 2, 3, 1))`."
            shown = "(n, " + ", ".join("?" if e is None else str(e) for e in expected) + ")"
            raise invalid(name, f"examples of shape {shown}, the model's input", f"an array of shape {x.shape}", hint)
    bad = _first_non_finite(x)
    if bad is not None:
        raise invalid(name, "finite values", f"NaN or Inf in example {bad}")
    return x


def label_kind(model):
    """`"sparse"`, `"one_hot"`, `"binary"` from `model`'s compiled loss, else `None`."""
    return loss_label_kind(getattr(model, "loss", None))


def loss_label_kind(loss):
    """The labels a classification `loss` takes (see `label_kind`), else `None`."""
    text = loss if isinstance(loss, str) else getattr(loss, "name", None) or getattr(loss, "__name__", "")
    text = str(text).lower()
    if "sparse_categorical" in text:
        return "sparse"
    if "categorical" in text:
        return "one_hot"
    if "binary" in text:
        return "binary"
    return None


def check_labels(name, y, *, num_classes, kind="sparse", count=None):
    """Checks numpy labels: one per example, class ids in `[0, num_classes)`.

    `kind` is `"sparse"` (class ids, shape `(n,)` or `(n, 1)`), `"one_hot"`
    (rows of length `num_classes`) or `"binary"` (values in [0, 1]).
    """
    if y is None or not isinstance(y, (np.ndarray, list)):
        return y
    y = np.asarray(y)
    if count is not None and (y.ndim == 0 or len(y) != count):
        raise invalid(name, f"one label per example ({count} examples)", f"{0 if y.ndim == 0 else len(y)} labels")
    if y.dtype == object or not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
        raise invalid(name, "numeric labels", f"dtype {y.dtype}", error=TypeError)
    if y.size == 0:
        return y
    if _first_non_finite(y.reshape(len(y), -1)) is not None:
        raise invalid(name, "finite labels", f"NaN or Inf in label {_first_non_finite(y.reshape(len(y), -1))}")
    if kind == "sparse":
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise invalid(name, f"class ids of shape (n,) for a sparse loss", f"shape {y.shape}")
        if not np.all(y == np.round(y)):
            raise invalid(name, "integer class ids", f"fractional labels such as {float(y[y != np.round(y)][0])}")
        low, high = int(y.min()), int(y.max())
        if num_classes is None and low < 0:
            raise invalid(name, "class ids >= 0", f"labels from {low} to {high}")
        if num_classes is not None and (low < 0 or high >= num_classes):
            raise invalid(
                name, f"class ids in [0, {num_classes - 1}] (the model has {num_classes} outputs)",
                f"labels from {low} to {high}",
            )
    elif kind == "one_hot":
        if y.ndim != 2 or y.shape[1] != num_classes:
            raise invalid(name, f"one-hot rows of length {num_classes} (the model's outputs)", f"shape {y.shape}")
    elif kind == "binary":
        low, high = float(y.min()), float(y.max())
        if low < 0 or high > 1:
            raise invalid(name, "binary labels in [0, 1]", f"labels from {low} to {high}")
    return y


def check_training_arrays(model, x, y=None, *, names=("x", "y"), kind="auto"):
    """`check_examples` and `check_labels` for `fit(x, y)` on a one-input classifier.

    Shapes are read from `model` (its input, its last output size); labels are
    checked when `kind` (default: read from the compiled loss) is known.
    Datasets and other non-array inputs pass through unchecked.
    """
    shape = _single_shape(shape_of(model, "input_shape"))
    check_examples(names[0], x, example_shape=None if shape is None else shape[1:])
    count = len(x) if isinstance(x, np.ndarray) and x.ndim else None
    check_labels_of(model, y, name=names[1], kind=kind, count=count)


def check_labels_of(model, y, *, name="y", kind="auto", count=None):
    """`check_labels` for the outputs of classifier `model` (`kind` read from its loss on `"auto"`)."""
    if y is None:
        return
    if kind == "auto":
        kind = label_kind(model)
    out = _single_shape(shape_of(model, "output_shape"))
    if kind is None or out is None or len(out) != 2 or out[-1] is None:
        return
    classes = int(out[-1])
    if kind == "sparse" and classes == 1:
        kind = "binary"
    check_labels(name, y, num_classes=max(classes, 2) if kind == "binary" else classes, kind=kind, count=count)


def check_validation_data(model, validation_data, *, kind="auto"):
    """`check_training_arrays` for a `validation_data=(x, y[, sample_weight])` tuple of arrays."""
    if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3):
        check_training_arrays(
            model, validation_data[0], validation_data[1], names=("validation_data[0]", "validation_data[1]"), kind=kind
        )
    else:
        check_dataset_not_empty("validation_data", validation_data)


def check_same_features(source, target, loss_name):
    """Source and target features of an alignment loss must have the same size per example."""

    def size(value):
        shape = tuple(getattr(value, "shape", ()))[1:]
        if any(d is None for d in shape):
            return None
        return int(np.prod(shape, dtype="int64")), shape

    a, b = size(source), size(target)
    if a is not None and b is not None and a[0] != b[0]:
        raise invalid(
            "y_pred", f"target features of the same size as the source features `y_true` ({a[1]}) for {loss_name}",
            f"target features of shape {b[1]}",
        )


def check_dataset_not_empty(name, dataset):
    """Raises when a `tf.data.Dataset`'s known cardinality is 0."""
    import tensorflow as tf

    if isinstance(dataset, tf.data.Dataset) and int(dataset.cardinality()) == 0:
        raise invalid(name, "a non-empty dataset", "a dataset of 0 batches")
    return dataset


def shape_of(model, attribute):
    try:
        return getattr(model, attribute)
    except (AttributeError, ValueError):  # subclassed or unbuilt models
        return None


def _single_shape(shape):
    if shape is None or isinstance(shape, dict):
        return None
    if isinstance(shape, list):
        return tuple(shape[0]) if len(shape) == 1 else None
    if isinstance(shape, tuple) and shape and isinstance(shape[0], (tuple, list)):
        return None
    return tuple(shape)
