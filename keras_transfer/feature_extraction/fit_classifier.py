"""`fit_classifier`: `model.fit` that runs a frozen backbone once, not every epoch."""

import os
import shutil
import tempfile
import time

import keras
import tensorflow as tf

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.feature_extraction import feature_cache
from keras_transfer.feature_extraction.forwarding import acts_on_batches, forwarded
from keras_transfer.data import checks

CACHE_CHOICES = ("auto", True, False)
# Head steps per `tf.function` call when no callback acts on single batches:
# a head step takes about a millisecond, so the Python loop around it would
# dominate an epoch. Same updates, in the same order; coarser progress bar.
HEAD_STEPS_PER_EXECUTION = 32


@keras_transfer_export("keras_transfer.fit_classifier")
def fit_classifier(
    model,
    x=None,
    y=None,
    *,
    batch_size=None,
    epochs=1,
    verbose="auto",
    callbacks=None,
    validation_data=None,
    shuffle=True,
    class_weight=None,
    sample_weight=None,
    initial_epoch=0,
    validation_freq=1,
    cache_features="auto",
    cache_dir=None,
    max_cache_memory="auto",
):
    """`model.fit` for a classifier, with the frozen backbone's features cached.

    Feature extraction trains only the head, yet a plain `fit` runs the frozen
    backbone over every image every epoch. When that is exact, this helper runs
    the backbone **once** (`model.feature_extractor` over the training and
    validation data), trains `model.head` on the stored features, and returns
    with the trained head in place inside `model`: the full model is ready for
    `predict`, `save` and `export`. Epochs after the extraction run at head
    speed (a frozen VGG16 epoch on 5,000 images: see `docs/benchmarks.md`).

    Caching is exact, and used, when nothing before the head changes between
    epochs: the backbone has no trainable weights, no layer before the head is
    random in training (dropout, augmentation layers inside the model), and the
    input pipeline draws no random numbers (a `tf.data` pipeline is inspected:
    shuffling is fine, random augmentation is not). Otherwise
    `cache_features="auto"` falls back to `model.fit` and says why, and
    `cache_features=True` raises a `ValueError` that says why.

    The features stay in memory when they take at most half the available
    memory (or `max_cache_memory` bytes); otherwise they go to a `tf.data`
    cache file in `cache_dir` (a temporary directory, removed at the end),
    and training shuffles them through a buffer of at most 100,000 examples
    and 256 MiB. Numpy inputs are read a slice at a time: no second copy of
    the images is made (peak memory: `docs/benchmarks/cache_memory.md`).

    The returned `History` has the keys a plain `model.fit` would give
    (`loss`, compiled metrics, `val_...`), callbacks see the full `model`
    (`ModelCheckpoint` saves it, `EarlyStopping` stops it), and the model's
    optimizer does the head's updates. When no callback acts on single
    batches, the head runs 32 steps per call (`steps_per_execution`): the
    same updates in the same order, a coarser progress bar.
    `history.feature_cache` says what
    happened: `{"mode": "memory" | "disk" | "off", "reason": ...,
    "extraction_seconds": ..., "examples": ...}`.

    Args:
        model: a compiled `keras_transfer.models.TransferClassifier` (from
            `keras_transfer.build_classifier`); any other compiled model is
            trained with plain `fit` (`"auto"`) or refused (`True`).
        x: numpy arrays or a finite `tf.data.Dataset` (batched, as for
            `fit`) to be cached. Numpy arrays are checked before any work
            (shape, NaN/Inf, labels in range); a dataset is not scanned.
        y: labels, as in `keras.Model.fit`. The other arguments of
            `keras.Model.fit` (`batch_size`, `epochs`, `verbose`,
            `callbacks`, `validation_data`, `shuffle`, `class_weight`,
            `sample_weight`, `initial_epoch`, `validation_freq`) mean what
            they mean there.
        cache_features: `"auto"` (cache when exact and it fits, else plain
            `fit` with a printed reason), `True` (cache or raise), `False`
            (plain `fit`). Defaults to `"auto"`.
        cache_dir: directory for an on-disk feature cache. Defaults to the
            system's temporary directory.
        max_cache_memory: bytes of memory the features may take before going
            to disk, or `"auto"` (half the available memory).

    Returns:
        A `keras.callbacks.History` with `feature_cache` set.

    Example:

    >>> import numpy as np, keras_transfer
    >>> model = keras_transfer.build_classifier(
    ...     "vgg16", 2, weights=None, input_shape=(32, 32, 3))
    >>> model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    >>> x = np.random.default_rng(0).uniform(0, 255, (16, 32, 32, 3))
    >>> y = np.arange(16) % 2
    >>> history = keras_transfer.fit_classifier(
    ...     model, x, y, epochs=2, batch_size=8, validation_data=(x, y), verbose=0)
    >>> history.feature_cache["mode"], sorted(history.history)
    ('memory', ['accuracy', 'loss', 'val_accuracy', 'val_loss'])
    >>> model.predict(x[:1], verbose=0).shape  # the full model, head trained
    (1, 2)

    Reference:
        Razavian et al., "CNN Features off-the-shelf: an Astounding Baseline
        for Recognition", CVPR Workshops 2014 (a linear head on frozen,
        precomputed features).
    """
    if not isinstance(model, keras.Model):
        raise _checks.invalid("model", "a keras.Model", model, error=TypeError)
    if not model.compiled:
        raise ValueError(
            f"Invalid value received for argument `model`: model {model.name!r} is not compiled. "
            "Call `model.compile(optimizer, loss, metrics=...)` first, as for `model.fit`."
        )
    if not any(cache_features is choice for choice in CACHE_CHOICES):
        raise _checks.invalid("cache_features", '"auto", True or False', cache_features, error=TypeError if not isinstance(cache_features, str) else ValueError)
    if cache_dir is not None and not os.path.isdir(cache_dir):
        raise _checks.invalid("cache_dir", "an existing directory", cache_dir)
    if max_cache_memory != "auto":
        _checks.check_int("max_cache_memory", max_cache_memory, minimum=0)
    epochs = _checks.check_int("epochs", epochs, minimum=0)
    if batch_size is not None:
        batch_size = _checks.check_int("batch_size", batch_size, minimum=1)
    if x is None or isinstance(x, (str, bytes)):
        raise _checks.invalid("x", "training images (numpy array) or a tf.data.Dataset", x, error=TypeError)
    checks.check_dataset_not_empty("x", x)
    checks.check_training_arrays(model, x, y)
    checks.check_validation_data(model, validation_data)

    fit_kwargs = dict(
        batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=callbacks,
        validation_data=validation_data, shuffle=shuffle, class_weight=class_weight,
        sample_weight=sample_weight, initial_epoch=initial_epoch, validation_freq=validation_freq,
    )
    if cache_features is False:
        return _plain_fit(model, x, y, fit_kwargs, "cache_features=False", announce=False)

    train = feature_cache.Split(x, y, sample_weight)
    validation = _validation_split(validation_data)
    reason = feature_cache.why_not_cacheable(model, {"training": train, "validation": validation})
    if reason is None:
        try:
            storage, directory = _plan(model, train, validation, batch_size, max_cache_memory, cache_dir)
        except MemoryError as error:
            if cache_features is True:
                raise
            reason = str(error)
    if reason is not None:
        if cache_features is True:
            raise ValueError(f"cache_features=True, but the features of model {model.name!r} cannot be cached: {reason}.")
        return _plain_fit(model, x, y, fit_kwargs, reason, announce=verbose != 0)
    return _cached_fit(model, train, validation, storage, directory, fit_kwargs)


def _validation_split(validation_data):
    if validation_data is None:
        return None
    if isinstance(validation_data, tf.data.Dataset):
        return feature_cache.Split(validation_data)
    if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3):
        return feature_cache.Split(*validation_data)
    raise _checks.invalid(
        "validation_data", "a tuple (x, y), (x, y, sample_weight) or a tf.data.Dataset", validation_data, error=TypeError
    )


def _plan(model, train, validation, batch_size, max_cache_memory, cache_dir):
    needed = 0
    for name, split in (("x", train), ("validation_data", validation)):
        if split is None:
            continue
        size = feature_cache.estimated_bytes(model, name, split, batch_size)
        needed = None if size is None or needed is None else needed + size
    return feature_cache.plan_storage(needed, max_memory=max_cache_memory, cache_dir=cache_dir)


def _plain_fit(model, x, y, fit_kwargs, reason, announce):
    if announce:
        print(f"keras_transfer.fit_classifier: training end to end, features not cached: {reason}.")
    if isinstance(x, tf.data.Dataset):
        fit_kwargs = dict(fit_kwargs, shuffle=False)  # ignored for datasets; avoids Keras's warning
    history = model.fit(x, y, **fit_kwargs)
    history.feature_cache = {"mode": "off", "reason": reason, "extraction_seconds": 0.0, "examples": None}
    return history


def _cached_fit(model, train, validation, storage, directory, fit_kwargs):
    verbose = fit_kwargs["verbose"]
    workdir = tempfile.mkdtemp(prefix="kt_features_", dir=directory) if storage == "disk" else None
    try:
        start = time.perf_counter()
        cached_train = feature_cache.extract(
            model, train, storage=storage, directory=workdir and _subdir(workdir, "train"), batch_size=fit_kwargs["batch_size"]
        )
        cached_validation = None
        if validation is not None:
            cached_validation = feature_cache.extract(
                model, validation, storage=storage, directory=workdir and _subdir(workdir, "validation"),
                batch_size=fit_kwargs["batch_size"],
            )
        seconds = time.perf_counter() - start
        if verbose != 0:
            examples = cached_train.count + (cached_validation.count if cached_validation else 0)
            where = "in memory" if storage == "memory" else f"in a tf.data cache file under {workdir}"
            print(
                f"keras_transfer.fit_classifier: backbone run once over {examples} images in {seconds:.1f} s; "
                f"training the head on cached features ({where})."
            )
        head = _compiled_head(model, batch_callbacks=acts_on_batches(fit_kwargs["callbacks"]))
        history = _fit_head(head, model, cached_train, cached_validation, fit_kwargs)
    finally:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
    history.set_model(model)
    history.feature_cache = {
        "mode": storage,
        "reason": None,
        "extraction_seconds": seconds,
        "examples": cached_train.count,
    }
    return history


def _subdir(root, name):
    path = os.path.join(root, name)
    os.makedirs(path)
    return path


def _clone_metric(metric):
    if isinstance(metric, keras.metrics.Metric):
        return metric.__class__.from_config(metric.get_config())
    return metric


def _distributed(model):
    # Keras 3.15's multi-step train function fails under MirroredStrategy
    # ("You must feed a value for placeholder tensor"): one step per call there.
    strategy = model.distribute_strategy
    return strategy.num_replicas_in_sync > 1 or "Default" not in type(strategy).__name__


def _compiled_head(model, batch_callbacks):
    """`model.head`, compiled like `model`, sharing its optimizer."""
    with model.distribute_strategy.scope():
        head = model.head
    config = getattr(model, "_compile_config", None)
    original = dict(config.config) if config is not None else {}
    metrics = original.get("metrics")
    weighted = original.get("weighted_metrics")
    head.compile(
        optimizer=model.optimizer,
        loss=original.get("loss", model.loss),
        loss_weights=original.get("loss_weights"),
        metrics=keras.tree.map_structure(_clone_metric, metrics) if metrics is not None else None,
        weighted_metrics=keras.tree.map_structure(_clone_metric, weighted) if weighted is not None else None,
        run_eagerly=model.run_eagerly,
        steps_per_execution=(
            HEAD_STEPS_PER_EXECUTION
            if model.steps_per_execution == 1 and not batch_callbacks and not _distributed(model)
            else model.steps_per_execution
        ),
        jit_compile=model.jit_compile,
    )
    return head


def _fit_head(head, model, train, validation, fit_kwargs):
    kwargs = dict(fit_kwargs)
    kwargs["callbacks"] = forwarded(kwargs["callbacks"], model)
    if validation is not None:
        kwargs["validation_data"] = _as_fit_data(validation, kwargs["batch_size"], shuffle=False)
    if not isinstance(train.features, tf.data.Dataset):  # in memory
        if train.batch_size:  # from a dataset: its batches, and its shuffling
            kwargs["batch_size"] = train.batch_size
            kwargs["shuffle"] = kwargs["shuffle"] and train.shuffles
        return head.fit(train.features, train.y, sample_weight=_pick(train.sample_weight, kwargs.pop("sample_weight")), **kwargs)
    data = _as_fit_data(train, kwargs["batch_size"], shuffle=kwargs["shuffle"] and train.shuffles)
    kwargs.pop("sample_weight")
    kwargs.pop("batch_size")
    kwargs["shuffle"] = False  # the dataset shuffles itself
    return head.fit(data, **kwargs)


def _pick(first, second):
    return first if first is not None else second


def _as_fit_data(cached, batch_size, shuffle):
    """A cached split as `fit` data: a tuple of tensor and arrays (memory) or a batched dataset (disk)."""
    if not isinstance(cached.features, tf.data.Dataset):
        parts = tuple(p for p in (cached.features, cached.y, cached.sample_weight) if p is not None)
        return parts
    dataset = cached.features.apply(tf.data.experimental.assert_cardinality(cached.count))
    size = cached.batch_size or batch_size or 32
    if shuffle:
        buffer = feature_cache.shuffle_buffer(dataset, cached.count, floor=size)
        dataset = dataset.shuffle(buffer, reshuffle_each_iteration=True)
    return dataset.batch(size).prefetch(tf.data.AUTOTUNE)
