"""Running a frozen feature extractor once over the data, in memory or on disk.

The pieces of `keras_transfer.fit_classifier`: deciding whether cached
features give the same training as end-to-end `fit` (`why_not_cacheable`),
sizing the cache, and computing it (`extract`).
"""

import dataclasses
import os
import shutil

import keras
import numpy as np
import tensorflow as tf

from keras_transfer.backbones.freezable_dropout import FreezableDropout
from keras_transfer.data.dataset_graph import inspect_pipeline
from keras_transfer.data.pipeline import available_memory_bytes

# "auto" keeps the features in memory when they take at most this share of the
# memory available, and otherwise writes a tf.data cache file.
MEMORY_SHARE = 0.5
# Free disk space kept in reserve beyond the cache file's estimated size.
DISK_MARGIN = 1.1
EXTRACTION_BATCH = 128
# The shuffle buffer of an on-disk cache: at most this many examples and bytes.
SHUFFLE_BUFFER_EXAMPLES = 100_000
SHUFFLE_BUFFER_BYTES = 256 << 20


@dataclasses.dataclass
class Split:
    """One data split (training or validation), as `fit` received it."""

    x: object
    y: object = None
    sample_weight: object = None

    @property
    def is_dataset(self):
        return isinstance(self.x, tf.data.Dataset)


@dataclasses.dataclass
class CachedSplit:
    """Features of one split: a tensor (memory) or a dataset (disk)."""

    features: object
    y: object = None
    sample_weight: object = None
    shuffles: bool = True
    count: int = 0
    batch_size: int = None


def _seeded_layers(layer):
    """Whether `layer` draws random numbers when called with `training=True`."""
    if isinstance(layer, FreezableDropout) and not layer.trainable:
        return False
    for value in vars(layer).values():
        if isinstance(value, keras.random.SeedGenerator):
            return True
    return False


def random_layers(model):
    """Names of the layers of `model` that are random in training mode."""
    return [
        layer.name
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if _seeded_layers(layer)
    ]


def why_not_cacheable(model, splits):
    """`None` when caching features is exact for `model` and `splits`, else the reason."""
    if not (hasattr(model, "feature_extractor") and hasattr(model, "head")):
        return (
            f"model {model.name!r} is a {type(model).__name__}, not a keras_transfer.models.TransferClassifier "
            "(build it with keras_transfer.build_classifier), so its frozen part is unknown"
        )
    extractor = model.feature_extractor
    trainable = [v.path for v in extractor.trainable_variables]
    if trainable:
        shown = ", ".join(trainable[:3]) + (f" and {len(trainable) - 3} more" if len(trainable) > 3 else "")
        return (
            f"part of the backbone trains ({shown}), so its features change every step; "
            "freeze it (build_classifier(..., freeze=True)) to cache them"
        )
    random = random_layers(extractor)
    if random:
        return (
            f"layers before the head are random in training ({', '.join(random[:3])}): augmentation or dropout "
            "inside the model changes the features each epoch; move augmentation to the input pipeline "
            "(keras_transfer.data.image_dataset(..., augmentation=...)) and train without it to cache"
        )
    for name, split in splits.items():
        if split is None:
            continue
        if split.is_dataset:
            info = inspect_pipeline(split.x)
            if not info.readable:
                return f"the {name} dataset's graph cannot be read, so its randomness cannot be checked"
            if info.random_ops:
                return (
                    f"the {name} pipeline draws random numbers ({', '.join(info.random_ops[:3])}): random "
                    "augmentation gives new images each epoch, which cached features would freeze"
                )
            if info.opaque_ops:
                return (
                    f"the {name} pipeline runs Python code ({', '.join(info.opaque_ops)}), so whether it is "
                    "random cannot be checked; pass cache_features=True if every pass yields the same images"
                )
        elif not isinstance(split.x, np.ndarray) and not tf.is_tensor(split.x):
            return f"the {name} data is a {type(split.x).__name__}; features are cached for numpy arrays and tf.data datasets"
    return None


def check_dataset_finite(name, dataset):
    cardinality = int(dataset.cardinality())
    if cardinality == tf.data.INFINITE_CARDINALITY:
        raise ValueError(
            f"Invalid value received for argument `{name}`: an infinite dataset (with `repeat()`). "
            "Caching features needs one pass over the data: remove `repeat()` or pass cache_features=False."
        )
    return cardinality if cardinality >= 0 else None


def estimated_bytes(model, name, split, batch_size):
    """Bytes the features of `split` take, or `None` when its size is unknown."""
    shape = model.feature_extractor.output_shape[1:]
    per_example = int(np.prod(shape)) * np.dtype(keras.config.dtype_policy().compute_dtype).itemsize
    if split.is_dataset:
        batches = check_dataset_finite(name, split.x)
        spec = split.x.element_spec
        image_spec = spec[0] if isinstance(spec, tuple) else spec
        per_batch = image_spec.shape[0] if image_spec.shape.rank else None
        if batches is None:
            return None
        if per_batch is None:
            per_batch = batch_size or 32
        return batches * per_batch * per_example
    return len(split.x) * per_example


def plan_storage(needed, *, max_memory, cache_dir):
    """`("memory", None)` or `("disk", directory)`, or raises `MemoryError` with advice."""
    limit = max_memory
    if limit == "auto":
        available = available_memory_bytes()
        limit = None if available is None else int(MEMORY_SHARE * available)
    if needed is not None and (limit is None or needed <= limit):
        return "memory", None
    directory = cache_dir or os.environ.get("TMPDIR") or "/tmp"
    free = shutil.disk_usage(directory).free
    if needed is not None and needed * DISK_MARGIN > free:
        raise MemoryError(
            f"The cached features need about {_human(needed)}: more than the memory allowed "
            f"({_human(limit)}, max_cache_memory={max_memory!r}) and than the free disk space in "
            f"{directory!r} ({_human(free)}). Pass cache_dir= on a larger disk, or cache_features=False."
        )
    return "disk", directory


def _human(size):
    if size is None:
        return "unknown"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{size} B"
        size /= 1024


def _unpack(batch):
    if isinstance(batch, tuple):
        return batch[0], (batch[1] if len(batch) > 1 else None), (batch[2] if len(batch) > 2 else None)
    return batch, None, None


def _array_parts(split):
    return (split.x,) + tuple(np.asarray(p) for p in (split.y, split.sample_weight) if p is not None)


def _array_batches(parts, size):
    """Slices of `parts`, `size` examples at a time: views, never a copy of the whole arrays.

    `predict(x)` (Keras's array adapter) and `tf.data.Dataset.from_tensor_slices`
    convert a whole numpy array to a tensor first: a second copy of the dataset
    in memory for as long as the extraction runs (benchmarks/cache_memory.py).
    """
    for start in range(0, len(parts[0]), size):
        sliced = tuple(p[start : start + size] for p in parts)
        yield sliced if len(sliced) > 1 else sliced[0]


def shuffle_buffer(dataset, count, floor):
    """Examples the shuffle buffer of an on-disk cache holds: at most `SHUFFLE_BUFFER_BYTES` of features.

    A buffer of every example would hold the whole features in memory again,
    which the disk cache is there to avoid.
    """
    spec = dataset.element_spec
    spec = spec[0] if isinstance(spec, tuple) else spec
    per_example = max(1, int(np.prod(spec.shape)) * spec.dtype.size)
    return max(1, min(count, SHUFFLE_BUFFER_EXAMPLES, max(floor, SHUFFLE_BUFFER_BYTES // per_example)))


def _in_memory(extractor, batches):
    """Features of `batches` as one tensor (`fit` takes it without copying it again), labels, weights."""
    features, ys, weights = [], [], []
    largest = 0
    for batch in batches:
        x, y, weight = _unpack(batch)
        largest = max(largest, int(x.shape[0]))
        features.append(tf.convert_to_tensor(extractor.predict_on_batch(x)))
        if y is not None:
            ys.append(keras.ops.convert_to_numpy(y))
        if weight is not None:
            weights.append(keras.ops.convert_to_numpy(weight))
    features = tf.concat(features, axis=0) if len(features) > 1 else features[0]
    return features, ys, weights, largest


def extract(model, split, *, storage, directory, batch_size):
    """Runs the frozen part of `model` once over `split`; returns a `CachedSplit`.

    Array inputs are read a slice at a time, so no second copy of the images is
    made; in memory the features are one tensor, on disk a `tf.data` cache file.
    """
    extractor = model.feature_extractor
    size = max(EXTRACTION_BATCH, batch_size or 32)
    if storage == "memory":
        if not split.is_dataset:
            features, _, _, _ = _in_memory(extractor, _array_batches((split.x,), size))
            return CachedSplit(features, split.y, split.sample_weight, shuffles=True, count=int(features.shape[0]))
        info = inspect_pipeline(split.x)
        features, ys, weights, largest = _in_memory(extractor, split.x)
        return CachedSplit(
            features,
            np.concatenate(ys) if ys else None,
            np.concatenate(weights) if weights else None,
            shuffles=info.shuffles,
            count=int(features.shape[0]),
            batch_size=largest,
        )

    # Disk: the features go through a tf.data cache file, filled by one pass.
    if split.is_dataset:
        source = split.x
        shuffles = inspect_pipeline(source).shuffles
    else:
        parts = _array_parts(split)
        specs = tuple(tf.TensorSpec((None,) + tuple(p.shape[1:]), tf.as_dtype(p.dtype)) for p in parts)
        source = tf.data.Dataset.from_generator(
            lambda: _array_batches(parts, size), output_signature=specs if len(specs) > 1 else specs[0]
        )
        shuffles = True

    @tf.function
    def run(x):
        return extractor(x, training=False)

    def to_features(*element):
        return (run(element[0]),) + tuple(element[1:]) if len(element) > 1 else run(element[0])

    path = os.path.join(directory, "features")
    cached = source.map(to_features).cache(path)
    count = largest = 0
    for batch in cached:  # the one pass that writes the cache file
        examples = int(tf.shape(_unpack(batch)[0])[0])
        count, largest = count + examples, max(largest, examples)
    if not split.is_dataset:
        largest = None  # the extraction batches, not the training ones
    return CachedSplit(cached.unbatch(), shuffles=shuffles, count=count, batch_size=largest)
