"""Datasets for the command line: a directory, a `.npz` of arrays, or a TFDS name.

Directories and TFDS names are read by `keras_transfer.data.sources`, as
`keras_transfer.data.image_dataset` reads them; this module turns them into
arrays and says errors in the command line's words.

Everything is loaded into NumPy arrays of raw images (float32, [0, 255]), or
of strings for the strategies that take texts, and integer labels: what
`keras_transfer.transfer` takes. A directory holds one sub-folder per class
of images, or of `.txt` files (one text per file, as
`keras.utils.text_dataset_from_directory` reads them).
"""

import dataclasses
import os

import numpy as np

from keras_transfer.data import image_files
from keras_transfer.data import sources

NPZ_KEYS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test", "x_source", "y_source", "x_target")


class DataError(ValueError):
    """A dataset argument of the command that cannot be used; the message says why."""


@dataclasses.dataclass
class Arrays:
    """The arrays of one dataset argument; absent parts are `None`."""

    description: str
    x_train: np.ndarray = None
    y_train: np.ndarray = None
    x_val: np.ndarray = None
    y_val: np.ndarray = None
    x_test: np.ndarray = None
    y_test: np.ndarray = None
    x_source: np.ndarray = None
    y_source: np.ndarray = None
    x_target: np.ndarray = None
    class_names: list = None
    splits: bool = True  # False for a directory: its examples are not a train/val/test split


def load(spec, *, argument, labels=True, texts=False, image_size=None, grayscale=False, download=False, data_dir=None,
         strict=False):
    """Loads `spec`: `tfds:NAME`, a `.npz` file or a directory (of images, or of texts if `texts`).

    Unreadable images of a directory are skipped with a warning naming each
    file, or refused with `strict` (`--strict`).
    """
    if spec.startswith("tfds:"):
        return _tfds(spec[len("tfds:"):], argument, data_dir, download, texts)
    if not os.path.exists(spec):
        raise DataError(
            f"{argument}: no such file or directory: {spec!r}. Give a directory (one sub-folder per class of images, "
            "or of .txt files for --strategy text), a .npz file with x_train/y_train arrays, or tfds:NAME for a "
            "TensorFlow Datasets name."
        )
    if os.path.isdir(spec):
        if texts:
            return _text_directory(spec, argument, labels)
        return _directory(spec, argument, labels, image_size, grayscale, strict)
    if spec.endswith(".npz"):
        return _npz(spec, argument, texts)
    raise DataError(f"{argument}: {spec!r} is a file but not a .npz archive; give a .npz, an image directory or tfds:NAME.")


def _images(x):
    x = np.asarray(x, dtype="float32")
    return x[..., None] if x.ndim == 3 else x  # (n, h, w) grayscale -> (n, h, w, 1)


def _inputs(x, texts, where):
    """Images as float32, or texts as a 1-D array of `str`; the other kind is refused."""
    x = np.asarray(x)
    is_text = x.dtype.kind in ("U", "S", "O")
    if is_text != texts:
        found, wanted = ("texts", "images") if is_text else ("numbers", "texts")
        hint = "choose --strategy text" if is_text else "give texts (strings) for --strategy text"
        raise DataError(f"{where} holds {found}, but the chosen strategies take {wanted}: {hint}.")
    if not texts:
        return _images(x)
    if x.ndim != 1:
        raise DataError(f"{where} holds texts of shape {x.shape}; expected a 1-D array of strings.")
    return np.array([item.decode("utf-8") if isinstance(item, bytes) else str(item) for item in x.tolist()], dtype=str)


def _read_npz(path, argument):
    """The arrays of a `.npz`, refusing object arrays (loading them would run pickle) by key."""
    found = {}
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DataError(f"{argument}: {path} is not a readable .npz archive ({error}).") from None
    with archive:
        for key in archive.files:
            try:
                found[key] = archive[key]
            except ValueError:
                raise DataError(f"{argument}: {path}[{key!r}] is an object array; it is refused (reading it would "
                                "run pickle). Save numbers, or strings as a fixed-width str array.") from None
    return found


def _check_pair(path, argument, key, x, y):
    if x is not None and y is not None and len(x) != len(y):
        raise DataError(f"{argument}: {path} has {len(x)} x_{key} and {len(y)} y_{key}; give one label per example.")


def _labels(path, argument, key, value):
    value = np.asarray(value)
    integral = value.dtype.kind in "iu" or (value.dtype.kind == "f" and np.all(np.isfinite(value)) and np.all(value == np.round(value)))
    if not integral or value.ndim != 1:
        raise DataError(f"{argument}: {path}[{key!r}] holds {value.dtype} values of shape {value.shape}; "
                        "expected integer class ids, one per example (shape (n,)).")
    return value.astype("int64")


def _npz(path, argument, texts=False):
    found = _read_npz(path, argument)
    for key, value in found.items():
        if key.startswith("x_") and value.dtype.kind in "bcV":
            raise DataError(f"{argument}: {path}[{key!r}] holds {value.dtype} values; expected numbers (images) or strings (texts).")
    unknown = sorted(set(found) - set(NPZ_KEYS) - {"class_names"})
    if unknown:
        raise DataError(f"{argument}: {path} holds arrays {unknown} this command does not know; expected keys among {list(NPZ_KEYS)}.")
    arrays = Arrays(description=f"arrays from {os.path.basename(path)}")
    for key, value in found.items():
        if key == "class_names":
            arrays.class_names = [str(name) for name in value]
        else:
            is_input = key.startswith("x_")
            setattr(arrays, key, _inputs(value, texts, f"{argument}: {path}[{key!r}]") if is_input else _labels(path, argument, key, value))
    for x_key in ("x_train", "x_val", "x_test", "x_source"):
        y_key = "y" + x_key[1:]
        if (getattr(arrays, x_key) is None) != (getattr(arrays, y_key) is None):
            raise DataError(f"{argument}: {path} has only one of {x_key} and {y_key}; labelled arrays come in pairs.")
        _check_pair(path, argument, x_key[2:], getattr(arrays, x_key), getattr(arrays, y_key))
    if not any(getattr(arrays, key) is not None for key in ("x_train", "x_test", "x_val", "x_source", "x_target")):
        raise DataError(f"{argument}: {path} holds no input array (expected keys among {list(NPZ_KEYS)}).")
    return arrays


def _source_error(error, argument, spec=None):
    """A `sources.SourceError` as the command line says it (its flags, not Python arguments)."""
    message = f"{argument}: {error.reason}"
    if error.detail:
        message += f": {error.detail}"
    if spec is not None and spec.startswith("tfds:") and error.hint:
        message += ". Pass --download to let TFDS download it (needs internet), or --data-dir where it is prepared"
    return DataError(message + ".")


def _directory(path, argument, labels, image_size, grayscale, strict=False):
    try:
        size = tuple(image_size) if image_size else sources.first_image_size(path, argument=argument)
        dataset, _, names = sources.image_directory(
            path, image_size=size, color_mode="grayscale" if grayscale else "rgb",
            labels="inferred" if labels else None, argument=argument, on_unreadable="raise" if strict else "warn",
        )
    except sources.SourceError as error:
        raise _source_error(error, argument) from None
    except image_files.UnreadableImagesError as error:
        raise DataError(f"{argument}: {image_files.describe(error.problems, error.total)}. "
                        "Remove or fix them, or leave out --strict to skip them with a warning.") from None
    arrays = sources.materialise(dataset)
    x, y = arrays if labels else (arrays, None)
    description = f"images of {path} ({size[0]}x{size[1]}{', grayscale' if grayscale else ''})"
    return _directory_arrays(description, x.astype("float32"), y, names, argument, path)


def _directory_arrays(description, x, y, names, argument, path):
    """The `Arrays` of a directory read with Keras: `y` is `None` when read without labels."""
    if y is None:
        return Arrays(description=description, x_train=x, splits=False)
    if len(names) < 2:
        raise DataError(f"{argument}: {path!r} needs one sub-folder per class (at least 2); found {names}.")
    return Arrays(description=description, x_train=x, y_train=np.asarray(y).astype("int64"), class_names=list(names),
                  splits=False)


def _text_directory(path, argument, labels):
    try:
        dataset, names = sources.text_directory(path, labels=labels, argument=argument)
    except sources.SourceError as error:
        raise _source_error(error, argument) from None
    arrays = sources.materialise(dataset)
    if arrays is None:
        raise DataError(f"{argument}: {path!r} holds no .txt file.")
    texts, ys = arrays if labels else (arrays, None)
    texts = np.array([text.decode("utf-8") for text in texts.tolist()], dtype=str)
    return _directory_arrays(f"texts of {path}", texts, ys, names, argument, path)


def _tfds(name, argument, data_dir, download, texts=False):
    try:
        datasets, info = sources.tfds_splits(name, data_dir=data_dir, download=download, argument=argument)
    except sources.SourceError as error:
        raise _source_error(error, argument, spec=f"tfds:{name}") from None
    arrays = Arrays(description=f"TFDS {name}")
    for split, dataset in datasets.items():
        key = {"train": "train", "validation": "val", "test": "test"}.get(split)
        if key:
            x, y = sources.materialise(dataset)
            setattr(arrays, f"x_{key}", _inputs(x, texts, f"{argument}: TFDS {name} ({split})"))
            setattr(arrays, f"y_{key}", np.asarray(y).astype("int64"))
    arrays.class_names = sources.class_names(info)
    if arrays.x_train is None:
        raise DataError(f"{argument}: TFDS dataset {name!r} has no 'train' split.")
    return arrays


def split_validation(x, y, fraction, seed):
    """A stratified `fraction` of `(x, y)` held out: `(x_train, y_train, x_val, y_val)`.

    Each class keeps its share in both parts (a class of at least 2 examples
    gives at least 1 to each), so a small validation split cannot miss a
    class or tilt the balance.
    """
    rng = np.random.default_rng(seed)
    held_out = []
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        count = int(round(len(members) * fraction))
        if len(members) >= 2:
            count = min(max(count, 1), len(members) - 1)
        held_out.extend(members[:count].tolist())
    val = np.sort(np.array(held_out, dtype="int64"))
    train = np.setdiff1d(np.arange(len(x)), val)
    if len(val) < 1 or len(train) < 1:
        raise DataError(f"--validation-split {fraction} leaves no validation or no training example out of {len(x)}.")
    return x[train], y[train], x[val], y[val]
