"""Reading datasets where users keep them: image directories, text directories, TFDS.

`keras_transfer.data.image_dataset` (a `tf.data` pipeline) and the command
line (numpy arrays) both read through these functions, so a directory or a
TFDS name means the same thing, with the same errors, on both. Each returns
unbatched `tf.data` datasets; callers batch, cache or materialise them.
"""

import os
import warnings

import numpy as np

from keras_transfer.data import image_files

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


class SourceError(ValueError):
    """A dataset that cannot be read, for argument `argument`.

    `reason` says what is wrong in words that fit any front end; `hint` how
    to fix it from Python (the command line gives its own flags instead);
    `detail` is the first line of the underlying library's error, if any.
    """

    def __init__(self, argument, reason, hint=None, detail=None):
        self.argument, self.reason, self.hint, self.detail = argument, reason, hint, detail
        message = f"Invalid value received for argument `{argument}`: {reason}"
        if hint:
            message += f". {hint}"
        if detail:
            message += f" ({detail})"
        super().__init__(message)


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0].rstrip(".") if text else type(error).__name__


def first_image_size(path, *, argument="source"):
    """`(height, width)` of the first image (in sorted order) under directory `path`."""
    import keras

    found = False
    for directory, _, files in sorted(os.walk(path)):
        for name in sorted(files):
            if name.lower().endswith(IMAGE_EXTENSIONS):
                found = True
                file = os.path.join(directory, name)
                if image_files.check_files([file])[1]:
                    continue  # unreadable: image_directory names it
                try:
                    width, height = keras.utils.load_img(file).size
                except Exception:
                    continue
                return (height, width)
    what = "no readable image" if found else "no image"
    raise SourceError(argument, f"{os.fspath(path)!r} holds {what} ({', '.join(IMAGE_EXTENSIONS)})")


def image_directory(path, *, image_size, color_mode="rgb", labels="inferred", argument="source", on_unreadable="warn"):
    """`(dataset, count, class_names)`: the images of `path`, one sub-directory per class.

    Listed as `keras.utils.image_dataset_from_directory` lists them (same
    files, order, class names), each file checked first
    (`keras_transfer.data.image_files`): files that do not decode, or whose
    header announces a decompression bomb, are skipped with one warning
    naming each (`on_unreadable="warn"`) or refused (`"raise"`). The others
    are decoded and resized as Keras does, unshuffled, unbatched. `labels`
    is Keras's argument (`"inferred"`, a list, or `None` for images only,
    then `class_names` is `None`).
    """
    import keras

    path = os.fspath(path)
    try:
        listing = keras.utils.image_dataset_from_directory(
            path, labels=labels, label_mode="int" if labels is not None else None, color_mode=color_mode,
            batch_size=None, image_size=tuple(image_size), shuffle=False, verbose=False,
        )
    except ValueError as error:
        raise SourceError(argument, f"cannot read images from {path!r}: {error}") from None
    paths = list(listing.file_paths)
    if not paths:
        raise SourceError(argument, f"{path!r} holds no image (one sub-directory per class)")
    class_names = getattr(listing, "class_names", None) if labels is not None else None
    channels = {"grayscale": 1, "rgb": 3, "rgba": 4}[color_mode]
    usable, problems = image_files.check_files(paths, channels=channels)
    image_files.report(problems, len(paths), argument=argument, on_unreadable=on_unreadable)
    ids = None
    if labels is not None:
        ids = _labels_of(path, paths, labels, class_names)
        ids = [label for label, keep in zip(ids, usable) if keep]
    paths = [p for p, keep in zip(paths, usable) if keep]
    if ids is not None and class_names and labels == "inferred":
        present = set(ids)
        empty = [name for index, name in enumerate(class_names) if index not in present]
        if empty:
            warnings.warn(f"{argument}: class folder(s) {empty} of {path!r} hold no usable image; they stay classes "
                          "(an output each) with no example.", UserWarning, stacklevel=2)
    if not paths:
        raise SourceError(argument, f"{path!r} holds no readable image ({len(problems)} cannot be used)")
    return _decoded(paths, ids, tuple(image_size), channels), len(paths), class_names


def _labels_of(root, paths, labels, class_names):
    if labels == "inferred":
        return [class_names.index(os.path.relpath(p, root).split(os.sep)[0]) for p in paths]
    return [int(label) for label in labels]


def _decoded(paths, labels, image_size, channels):
    """The dataset of `paths` decoded and resized as `image_dataset_from_directory` does (bilinear, float32)."""
    import tensorflow as tf

    def load(file):
        image = tf.io.decode_image(tf.io.read_file(file), channels=channels, expand_animations=False)
        image = tf.image.resize(image, image_size, method="bilinear")
        image.set_shape((*image_size, channels))
        return image

    images = tf.data.Dataset.from_tensor_slices(paths).map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if labels is None:
        return images
    return tf.data.Dataset.zip((images, tf.data.Dataset.from_tensor_slices(np.asarray(labels, "int32"))))


def text_directory(path, *, labels=True, argument="source"):
    """`(dataset, class_names)`: the `.txt` files of `path` (one text per file, one sub-directory per class)."""
    import keras

    path = os.fspath(path)
    try:
        dataset = keras.utils.text_dataset_from_directory(
            path, labels="inferred" if labels else None, label_mode="int" if labels else None, batch_size=None,
            shuffle=False, verbose=False,
        )
    except ValueError as error:
        raise SourceError(argument, f"cannot read texts from {path!r}: {error}") from None
    return dataset, (getattr(dataset, "class_names", None) if labels else None)


def tfds_builder(name, *, data_dir=None, argument="source"):
    """The TFDS builder of `name`, which must have (input, label) supervised keys."""
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        raise SourceError(argument, f"the TFDS name {name!r} needs the tensorflow-datasets package") from None
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception as error:  # unknown name, unreadable data_dir...
        raise SourceError(
            argument, f"cannot load TFDS dataset {name!r}: expected an existing image directory or a TFDS dataset name",
            detail=_first_line(error),
        ) from None
    if not builder.info.supervised_keys:
        raise SourceError(argument, f"TFDS dataset {name!r} has no (input, label) supervised keys")
    return builder


def tfds_splits(name, *, splits=None, data_dir=None, download=False, argument="source"):
    """`({split: dataset}, info)`: unbatched `(input, label)` datasets of TFDS `name`.

    `splits` is a list of split names (`None`: every split the dataset
    has). Nothing is downloaded unless `download=True`.
    """
    import tensorflow_datasets as tfds

    builder = tfds_builder(name, data_dir=data_dir, argument=argument)
    names = "every split" if splits is None else list(splits)
    options = dict(data_dir=data_dir, download=download, as_supervised=True, shuffle_files=False)
    try:
        if splits is None:
            datasets = dict(tfds.load(name, split=None, **options))
        else:
            datasets = {split: tfds.load(name, split=split, **options) for split in splits}
    except Exception as error:  # not prepared, no network...
        where = data_dir or "the default TFDS data_dir"
        raise SourceError(
            argument,
            f"cannot load TFDS dataset {name!r} ({names}): it is not prepared in {where}, "
            + ("and downloading it failed" if download else "and nothing is downloaded here"),
            hint=None if download else f"Prepare it with `tfds build {name}` on a machine with internet and copy it, or pass `data_dir=`",
            detail=_first_line(error),
        ) from None
    return datasets, builder.info


def split_size(info, split):
    """The number of examples of `split` in TFDS `info`, or `None` when TFDS does not say."""
    try:
        return info.splits[split].num_examples
    except Exception:  # noqa: BLE001 - a sliced or unknown split name
        return None


def class_names(info):
    """The label names of a TFDS dataset, or `None`."""
    label = info.features[info.supervised_keys[1]]
    return list(label.names) if getattr(label, "names", None) else None


def materialise(dataset, *, batch_size=256):
    """The elements of a finite unbatched dataset as numpy arrays (a tuple for tuple elements)."""
    parts = None
    for batch in dataset.batch(batch_size).as_numpy_iterator():
        batch = batch if isinstance(batch, tuple) else (batch,)
        parts = [[] for _ in batch] if parts is None else parts
        for part, value in zip(parts, batch):
            part.append(value)
    if parts is None:
        return None
    arrays = tuple(np.concatenate(part) for part in parts)
    return arrays if len(arrays) > 1 else arrays[0]

