"""The one check of training arrays: examples and class labels, before the first step.

Every entry point that takes numpy data checks it here: `fit_classifier`, the
package models' `fit`, `image_dataset`, `domain_adaptation_dataset`,
`transfer`, the few-shot heads. Messages name the argument, say what was
expected and what was received (see `keras_transfer._checks.invalid`).

Only numpy arrays (and what converts to one) are inspected. A
`tf.data.Dataset` cannot be scanned without running its pipeline, so its
contents are left to `fit`; its emptiness is checked when its cardinality is
known (`check_dataset_not_empty`).
"""

import warnings

import numpy as np

from keras_transfer import _checks

CHANNELS = (1, 3, 4)
_CHUNK_BYTES = 64 << 20


def first_non_finite(array):
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


def as_array(name, value, expected, *, lists=True):
    """`value` as a numeric numpy array (`__array__` objects and, with `lists`, lists convert; strings do not)."""
    convertible = hasattr(value, "__array__") or (lists and isinstance(value, (list, tuple)))
    if isinstance(value, (str, bytes, dict)) or not convertible:
        raise _checks.invalid(name, expected, value, error=TypeError)
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:
        raise _checks.invalid(name, expected, type(value).__name__, error=TypeError) from error
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise _checks.invalid(name, expected, f"an array of dtype {array.dtype}", error=TypeError)
    return array


def check_finite(name, x, noun="example"):
    """Raises on the first of the examples `x` holding NaN or Inf."""
    bad = first_non_finite(x)
    if bad is not None:
        raise _checks.invalid(name, "finite values", f"NaN or Inf in {noun} {bad}")
    return x


def check_examples(name, x, *, example_shape=None, noun="example"):
    """Checks a numpy array of examples: not empty, of `example_shape`, finite.

    `example_shape` is the model's input shape without the batch axis (`None`
    entries match anything). A transposed image array (channels first) gets a
    hint. Anything that is not a numpy array is returned unchecked.
    """
    if not isinstance(x, np.ndarray):
        return x
    if x.ndim == 0 or len(x) == 0:
        raise _checks.invalid(name, f"at least one {noun}", f"an array of shape {x.shape}")
    if example_shape is not None:
        expected = tuple(example_shape)
        got = tuple(x.shape[1:])
        fits = len(got) == len(expected) and all(e is None or e == g for e, g in zip(expected, got))
        if not fits:
            hint = None
            if len(got) == 3 and len(expected) == 3 and got[1:] + got[:1] == expected:
                hint = _CHANNELS_FIRST
            shown = "(n, " + ", ".join("?" if e is None else str(e) for e in expected) + ")"
            raise _checks.invalid(name, f"examples of shape {shown}, the model's input", f"an array of shape {x.shape}", hint)
    return check_finite(name, x, noun)


_CHANNELS_FIRST = "The images look channels-first; move the channels last with `np.transpose(x, (0, 2, 3, 1))`."


def check_images(name, images, *, expected):
    """Images of any shape the package takes, as a 4-D channels-last numpy array (checked).

    `(n, height, width)` gains a channel axis; 1, 3 or 4 channels; finite
    pixel values. Floats in [0, 1] warn: the package's models take raw pixel
    values in [0, 255]. `expected` says what `name` may be, for the type error.
    """
    images = as_array(name, images, expected, lists=False)
    if images.ndim == 0 or len(images) == 0:
        raise _checks.invalid(name, "at least one image", f"an array of shape {images.shape}")
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4:
        raise _checks.invalid(name, "images of shape (n, height, width) or (n, height, width, channels)", f"shape {images.shape}")
    if images.shape[-1] not in CHANNELS:
        hint = _CHANNELS_FIRST if images.shape[1] in CHANNELS else None
        raise _checks.invalid(name, "channels-last images with 1, 3 or 4 channels", f"shape {images.shape}", hint=hint)
    check_finite(name, images, "image")
    if np.issubdtype(images.dtype, np.floating) and images.size and 0.0 < float(images.max()) <= 1.0 and float(images.min()) >= 0.0:
        warnings.warn(
            "The images are floats in [0, 1]; keras_transfer models (build_classifier) expect raw "
            "pixel values in [0, 255] and preprocess inside. Multiply by 255 if these are scaled.",
            stacklevel=4,
        )
    return images


def check_texts(name, x):
    """A 1-D batch of texts (a list, array or string tensor of `str` or UTF-8 `bytes`) as a numpy `str` array."""
    if isinstance(x, (str, bytes)):
        raise _checks.invalid(
            name, "a batch of strings (a list, 1-D array or tensor)", x,
            hint=f"Wrap a single text in a list: [{x!r}].",
        )
    if hasattr(x, "numpy"):  # a tensor
        x = x.numpy()
    array = np.asarray(x, dtype=object)
    if array.ndim != 1:
        raise _checks.invalid(name, "a 1-D batch of strings", f"array of shape {array.shape}")
    for item in array:
        if not isinstance(item, (str, bytes)):
            raise _checks.invalid(
                name, "strings only", item, error=TypeError,
                hint="Every element of the batch must be a `str` (or UTF-8 `bytes`).",
            )
    decoded = [item.decode("utf-8") if isinstance(item, bytes) else item for item in array]
    return np.array(decoded, dtype=str) if decoded else np.array([], dtype=str)


def check_labels(name, y, *, num_classes, kind="sparse", count=None, noun="example", why=None):
    """Checks labels: one per example, class ids in `[0, num_classes)`; returns them as an array.

    `kind` is `"sparse"` (class ids, shape `(n,)` or `(n, 1)`, returned as
    `(n,)`), `"one_hot"` (rows of length `num_classes`) or `"binary"`
    (values in [0, 1]). `count` is the number of examples (`noun`s) the labels
    go with; `why` says where `num_classes` comes from. Values that are not a
    list or numpy array (datasets, tensors) are returned unchecked.
    """
    if y is None or not isinstance(y, (np.ndarray, list)):
        return y
    y = np.asarray(y)
    if count is not None and (y.ndim == 0 or len(y) != count):
        raise _checks.invalid(
            name, f"as many labels as inputs, one label per {noun} ({count} {noun}s)", f"{0 if y.ndim == 0 else len(y)} labels"
        )
    if y.dtype == object or not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
        raise _checks.invalid(name, "numeric labels (integer class ids or one-hot rows)", f"dtype {y.dtype}", error=TypeError)
    if y.size == 0:
        return y
    bad = first_non_finite(y.reshape(len(y), -1))
    if bad is not None:
        raise _checks.invalid(name, "finite labels", f"NaN or Inf in label {bad}")
    why = f" ({why})" if why else ""
    if kind == "sparse":
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise _checks.invalid(name, "class ids of shape (n,) for a sparse loss", f"shape {y.shape}")
        if not np.all(y == np.round(y)):
            raise _checks.invalid(name, "integer class ids", f"fractional labels such as {float(y[y != np.round(y)][0])}")
        low, high = int(y.min()), int(y.max())
        if num_classes is None and low < 0:
            raise _checks.invalid(name, "class ids >= 0", f"labels from {low} to {high}")
        if num_classes is not None and (low < 0 or high >= num_classes):
            expected = f"class ids in [0, {num_classes - 1}], i.e. [0, {num_classes}){why}"
            raise _checks.invalid(name, expected, f"labels from {low} to {high}")
    elif kind == "one_hot":
        if y.ndim != 2 or y.shape[1] != num_classes:
            raise _checks.invalid(name, f"one-hot rows of length {num_classes}{why}", f"shape {y.shape}")
    elif kind == "binary":
        low, high = float(y.min()), float(y.max())
        if low < 0 or high > 1:
            raise _checks.invalid(name, "binary labels in [0, 1]", f"labels from {low} to {high}")
    return y


def check_class_labels(name, y, *, num_classes=None, count=None, noun="example", why=None):
    """Class ids `(n,)` / `(n, 1)` or one-hot (probability) rows `(n, k)`, told apart by shape.

    Class ids come back as int64 `(n,)`, rows as given.
    """
    y = np.asarray(y)
    kind = "one_hot" if y.ndim == 2 and y.shape[1] > 1 else "sparse"
    if kind == "one_hot" and num_classes is None:
        num_classes = y.shape[1]
    y = check_labels(name, y, num_classes=num_classes, kind=kind, count=count, noun=noun, why=why)
    return y.astype("int64") if kind == "sparse" else y


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
    check_labels(
        name, y, num_classes=max(classes, 2) if kind == "binary" else classes, kind=kind, count=count,
        why=f"the model has {classes} outputs",
    )


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
        raise _checks.invalid(
            "y_pred", f"target features of the same size as the source features `y_true` ({a[1]}) for {loss_name}",
            f"target features of shape {b[1]}",
        )


def check_dataset_not_empty(name, dataset):
    """Raises when a `tf.data.Dataset`'s known cardinality is 0."""
    import tensorflow as tf

    if isinstance(dataset, tf.data.Dataset) and int(dataset.cardinality()) == 0:
        raise _checks.invalid(name, "a non-empty dataset", "a dataset of 0 batches")
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
