"""`image_dataset`: a `tf.data` input pipeline for an image classifier."""

import os

import keras
import numpy as np
import tensorflow as tf

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.data import checks
from keras_transfer.data import sources

AUTOTUNE = tf.data.AUTOTUNE
# "auto" caches decoded images in memory when they take at most this share of
# the memory available when the pipeline is built.
_AUTO_CACHE_SHARE = 0.25


def available_memory_bytes():
    """Memory available to new allocations (MemAvailable), or `None` if unknown."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


@keras_transfer_export("keras_transfer.data.image_dataset")
def image_dataset(
    source,
    labels=None,
    *,
    batch_size=32,
    image_size=None,
    model=None,
    num_classes=None,
    shuffle=True,
    seed=None,
    augmentation=None,
    cache="auto",
    shuffle_buffer=None,
    drop_remainder=False,
    split="train",
    data_dir=None,
    color_mode=None,
    on_unreadable="warn",
):
    """A batched, prefetched `tf.data.Dataset` of `(images, labels)` for a model.

    One entry point for the three places images come from: numpy arrays, a
    directory with one sub-directory per class
    (`keras.utils.image_dataset_from_directory`), or a TensorFlow Datasets
    name read offline from `data_dir`. Images stay raw: float32 in [0, 255],
    because `keras_transfer.build_classifier` models preprocess inside.

    The pipeline is: read -> cast/resize -> `cache` (decoded images, when
    asked or when they fit in memory) -> shuffle (seeded, reshuffled each
    epoch) -> batch -> `augmentation` -> prefetch (`AUTOTUNE`). Augmentation
    runs here, in `tf.data`, outside the compiled train step: XLA cannot
    compile `RandomRotation`/`RandomTranslation` on CPU, and a pipeline with
    random layers makes `keras_transfer.fit_classifier` train end to end
    instead of caching features.

    Args:
        source: images as a numpy array `(n, h, w[, c])` (channels last), a
            tuple `(images, labels)`, a path to an image directory, a TFDS
            dataset name (read with `tfds.load(..., download=False)`), or a
            `tf.data.Dataset` of unbatched `(image, label)` or `image` elements.
        labels: for arrays, integer class ids `(n,)` or one-hot/probability
            rows `(n, k)`; `None` for images only. For a directory,
            `"inferred"` (default when `None`: from sub-directory names), a
            list, or `False` for images only. `None` for TFDS and datasets.
        batch_size: examples per batch. Defaults to `32`.
        image_size: `(height, width)` to resize to (bilinear). Defaults to the
            input size of `model` when given, else the source's size (a
            directory then needs it: its images may differ in size).
        model: optional `keras.Model` the data feeds; sets `image_size` and the
            channel count (`color_mode`) and checks that they fit its input.
        num_classes: checks that integer labels lie in `[0, num_classes)`.
            Inferred for directories and TFDS.
        shuffle: shuffle the examples, reshuffled each epoch. Defaults to
            `True` (as Keras's directory loader); use `False` for evaluation.
        seed: shuffle seed, for a reproducible order.
        augmentation: a Keras layer, or a list of layers applied in order, run
            on each batch with `training=True` (e.g. `keras.layers.RandomFlip`).
            Must keep the [0, 255] range.
        cache: `"auto"` (cache decoded, resized images in memory when that
            takes at most a quarter of the available memory and saves work),
            `True` (in memory), `False`, or a file path prefix for an on-disk
            `tf.data` cache. Defaults to `"auto"`.
        shuffle_buffer: shuffle buffer size. Defaults to the number of examples
            (a full shuffle), at most 100,000.
        drop_remainder: drop the last, smaller batch. Defaults to `False`.
        split: TFDS split. Defaults to `"train"`.
        data_dir: TFDS data directory (nothing is downloaded).
        color_mode: for directories, `"rgb"`, `"grayscale"` or `"rgba"`.
            Defaults to the channels of `model`'s input, else `"rgb"`.
        on_unreadable: for directories, files that do not decode (or
            decompression bombs) are skipped with a warning naming each
            (`"warn"`, default) or refused with a `ValueError` (`"raise"`).

    Returns:
        A `tf.data.Dataset` of `(images, labels)` batches (or `images` alone
        without labels); directories and TFDS sets carry `class_names`.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> x = np.random.default_rng(0).integers(0, 255, (10, 28, 28), "uint8")
    >>> y = np.arange(10) % 2
    >>> ds = keras_transfer.data.image_dataset(
    ...     x, y, batch_size=4, image_size=(32, 32), seed=0,
    ...     augmentation=keras.layers.RandomFlip("horizontal", seed=0))
    >>> images, labels = next(iter(ds))
    >>> images.shape, images.dtype.name, labels.shape
    (TensorShape([4, 32, 32, 1]), 'float32', TensorShape([4]))
    """
    batch_size = _checks.check_int("batch_size", batch_size, minimum=1)
    image_size = _check_image_size(image_size)
    if num_classes is not None:
        num_classes = _checks.check_int("num_classes", num_classes, minimum=1)
    if not isinstance(shuffle, bool):
        raise _checks.invalid("shuffle", "a bool", shuffle, error=TypeError)
    if not isinstance(drop_remainder, bool):
        raise _checks.invalid("drop_remainder", "a bool", drop_remainder, error=TypeError)
    if seed is not None:
        seed = _checks.check_int("seed", seed)
    if shuffle_buffer is not None:
        shuffle_buffer = _checks.check_int("shuffle_buffer", shuffle_buffer, minimum=1)
    if not (isinstance(cache, (bool, str, os.PathLike))):
        raise _checks.invalid("cache", '"auto", True, False or a cache file path', cache, error=TypeError)
    augmentation = _check_augmentation(augmentation)
    model_size, model_channels = _model_input(model)
    if image_size is None:
        image_size = model_size
    if color_mode is not None:
        _checks.check_choice("color_mode", color_mode, ("rgb", "grayscale", "rgba"))

    is_directory = isinstance(source, (str, os.PathLike)) and os.path.isdir(source)
    is_tfds = isinstance(source, str) and not is_directory
    if labels is not None and (is_tfds or isinstance(source, tf.data.Dataset)):
        raise _checks.invalid(
            "labels", "None for a TFDS name or a tf.data.Dataset (their elements carry the labels)", labels, error=TypeError
        )
    if color_mode is not None and not is_directory:
        raise _checks.invalid("color_mode", "None except for an image directory", color_mode)
    if data_dir is not None and not is_tfds:
        raise _checks.invalid("data_dir", "None except for a TFDS name", data_dir)

    class_names = None
    in_memory = False
    if isinstance(source, tf.data.Dataset):
        dataset, count, channels = _from_dataset(source, image_size)
    elif is_directory:
        if color_mode is None:
            color_mode = {1: "grayscale", 4: "rgba"}.get(model_channels, "rgb")
        _checks.check_choice("on_unreadable", on_unreadable, ("warn", "raise"))
        dataset, count, class_names = _from_directory(source, labels, image_size, color_mode, on_unreadable)
        channels = {"grayscale": 1, "rgb": 3, "rgba": 4}[color_mode]
        num_classes = _check_num_classes(num_classes, len(class_names) if class_names else None, "directory")
    elif is_tfds:
        dataset, count, class_names, channels = _from_tfds(source, split, data_dir, image_size)
        num_classes = _check_num_classes(num_classes, len(class_names) if class_names else None, "TFDS")
    else:
        if isinstance(source, tuple):
            if len(source) != 2 or labels is not None:
                raise _checks.invalid(
                    "source", "a tuple (images, labels) (and no separate `labels`)", source, error=TypeError
                )
            source, labels = source
        images, labels = _check_arrays(source, labels, num_classes)
        count, channels, in_memory = len(images), images.shape[-1], True
        dataset = tf.data.Dataset.from_tensor_slices((images, labels) if labels is not None else images)

    if model_channels is not None and channels is not None and channels != model_channels:
        raise _checks.invalid(
            "source",
            f"images with {model_channels} channels, as the input of model {model.name!r}",
            f"images with {channels} channels",
            hint="Build the model for these images (e.g. `build_classifier(..., input_shape=..., adapt_input=True)` "
            "takes grayscale), or convert the images.",
        )

    def prepare(*element):
        image = tf.cast(element[0], tf.float32)
        if image_size is not None and image.shape.rank is not None and image.shape.rank >= 3:
            if tuple(image.shape[-3:-1]) != tuple(image_size):
                image = tf.image.resize(image, image_size)
        return (image,) + tuple(element[1:]) if len(element) > 1 else image

    dataset = dataset.map(prepare, num_parallel_calls=AUTOTUNE)
    cache_file = _resolve_cache(cache, count, image_size, channels, source_in_memory=in_memory)
    if cache_file is not None:
        dataset = dataset.cache(cache_file)
    if shuffle:
        buffer = shuffle_buffer or min(count or 10_000, 100_000)
        dataset = dataset.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder, num_parallel_calls=AUTOTUNE)
    if augmentation:
        def augment(images, *rest):
            for layer in augmentation:
                images = layer(images, training=True)
            return (images,) + rest if rest else images

        dataset = dataset.map(augment, num_parallel_calls=AUTOTUNE)
    dataset = dataset.prefetch(AUTOTUNE)
    if class_names is not None:
        dataset.class_names = list(class_names)
    return dataset


def _check_image_size(image_size):
    if image_size is None:
        return None
    if (
        not isinstance(image_size, (tuple, list))
        or len(image_size) != 2
        or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in image_size)
    ):
        raise _checks.invalid("image_size", "a tuple (height, width) of positive ints", image_size, error=TypeError)
    return tuple(image_size)


def _check_augmentation(augmentation):
    if augmentation is None:
        return []
    layers = list(augmentation) if isinstance(augmentation, (list, tuple)) else [augmentation]
    for layer in layers:
        if not isinstance(layer, keras.layers.Layer):
            raise _checks.invalid(
                "augmentation", "a keras.layers.Layer or a list of layers (e.g. keras.layers.RandomFlip())", layer, error=TypeError
            )
    return layers


def _model_input(model):
    if model is None:
        return None, None
    if not isinstance(model, keras.Model):
        raise _checks.invalid("model", "a keras.Model", model, error=TypeError)
    shape = model.input_shape
    if isinstance(shape, list) or len(shape) != 4:
        raise _checks.invalid("model", "a model with one image input (batch, height, width, channels)", model.name)
    height, width, channels = shape[1:]
    size = (height, width) if height is not None and width is not None else None
    return size, channels


def _check_num_classes(given, found, where):
    if given is not None and found is not None and given != found:
        raise _checks.invalid("num_classes", f"{found} (the number of classes of the {where})", given)
    return given if given is not None else found


def _check_arrays(images, labels, num_classes):
    images = checks.check_images(
        "source", images,
        expected="a numpy array of images, an (images, labels) tuple, an image directory, a TFDS name or a tf.data.Dataset",
    )
    if labels is None:
        return images, None
    why = None if num_classes is None else f"num_classes={num_classes}"
    return images, checks.check_class_labels("labels", labels, num_classes=num_classes, count=len(images), noun="image", why=why)


def _check_uniform_size(image_shape, image_size, what):
    if image_size is None and (image_shape.rank is None or None in tuple(image_shape)[:2]):
        raise _checks.invalid(
            "image_size", f"(height, width): the images of this {what} may differ in size", None,
            hint="Pass `image_size=` or `model=`.",
        )


def _from_dataset(dataset, image_size):
    spec = dataset.element_spec
    image_spec = spec[0] if isinstance(spec, tuple) else spec
    if not isinstance(image_spec, tf.TensorSpec) or image_spec.shape.rank != 3:
        raise _checks.invalid(
            "source", "a tf.data.Dataset of unbatched (image, label) or image elements, images (h, w, c)", str(spec), error=TypeError
        )
    _check_uniform_size(image_spec.shape, image_size, "dataset")
    cardinality = int(dataset.cardinality())
    if cardinality == tf.data.INFINITE_CARDINALITY:
        raise _checks.invalid("source", "a finite dataset (no `repeat()`)", "an infinite dataset")
    if cardinality == 0:
        raise _checks.invalid("source", "at least one image", "an empty dataset")
    return dataset, (cardinality if cardinality > 0 else None), image_spec.shape[-1]


def _from_directory(directory, labels, image_size, color_mode, on_unreadable):
    if image_size is None:
        raise _checks.invalid(
            "image_size", "(height, width) for an image directory (its images may differ in size)", None,
            hint="Pass `image_size=` or `model=`.",
        )
    if labels is None:
        labels = "inferred"
    if labels is False:
        labels = None
    return sources.image_directory(
        directory, image_size=image_size, color_mode=color_mode, labels=labels, on_unreadable=on_unreadable)


def _from_tfds(name, split, data_dir, image_size):
    datasets, info = sources.tfds_splits(name, splits=[split], data_dir=data_dir)
    count = sources.split_size(info, split)
    if count == 0:
        raise _checks.invalid("split", "a non-empty split", split)
    image_shape = info.features[info.supervised_keys[0]].shape
    channels = image_shape[-1] if image_shape else None
    _check_uniform_size(tf.TensorShape(image_shape), image_size, "TFDS dataset")
    return datasets[split], count, sources.class_names(info), channels


def _resolve_cache(cache, count, image_size, channels, *, source_in_memory):
    """The argument for `Dataset.cache`, or `None` for no cache."""
    if cache is False:
        return None
    if cache is True:
        return ""
    if cache != "auto":
        path = os.fspath(cache)
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            raise _checks.invalid("cache", "a file path in an existing directory", path)
        return path
    if source_in_memory and image_size is None:
        return None  # the arrays are in memory already; a copy would save nothing
    if count is None or image_size is None or channels is None:
        return None
    needed = count * image_size[0] * image_size[1] * channels * 4
    available = available_memory_bytes()
    if available is None or needed > _AUTO_CACHE_SHARE * available:
        return None
    return ""
