"""`domain_adaptation_dataset`: paired source/target batches for `DomainAdaptationModel.fit`."""

import numpy as np
import tensorflow as tf

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.data import checks


def _is_dataset(value):
    return isinstance(value, tf.data.Dataset)


def _array(name, value):
    try:
        array = np.asarray(value)
    except Exception as error:  # noqa: BLE001 - reported with the argument name
        raise _checks.invalid(name, "an array", type(value).__name__, error=TypeError) from error
    if array.dtype == object:
        raise _checks.invalid(name, "a numeric array", type(value).__name__, error=TypeError)
    return array.astype("float32") if array.dtype == np.float64 else array


def _source_spec(source):
    if _is_dataset(source):
        spec = source.element_spec
        if not isinstance(spec, tuple) or len(spec) not in (2, 3):
            raise _checks.invalid(
                "source", "a tf.data.Dataset of (x, y) or (x, y, sample_weight) elements (labels missing?)",
                spec,
            )
        return source, tuple(spec[0].shape), None
    if not isinstance(source, (tuple, list)) or len(source) not in (2, 3):
        raise _checks.invalid(
            "source", "a tuple (x_s, y_s) or (x_s, y_s, sample_weight_s): the source labels are missing",
            type(source).__name__ if not isinstance(source, (tuple, list)) else f"a tuple of {len(source)}",
        )
    arrays = [_array("source", part) for part in source]
    return tuple(arrays), arrays[0].shape[1:], arrays[0].shape[0]


def _target_spec(target):
    if _is_dataset(target):
        spec = target.element_spec
        if isinstance(spec, (tuple, dict)):
            raise _checks.invalid(
                "target", "a tf.data.Dataset of unlabelled inputs (one tensor per element)", spec,
                hint="Drop the labels first, e.g. target.map(lambda x, y: x).",
            )
        return target, tuple(spec.shape), None
    texts = isinstance(target, list) and len(target) > 0 and all(isinstance(t, str) for t in target)
    if isinstance(target, (tuple, list)) and not texts:
        raise _checks.invalid(
            "target", "an array of unlabelled inputs (target labels are not used for training)",
            f"a {type(target).__name__} of {len(target)}", error=TypeError,
        )
    array = _array("target", target)
    return array, array.shape[1:], array.shape[0]


def _draw_seed():
    """A shuffle seed from TensorFlow's global generator (reproducible after `keras.utils.set_random_seed`)."""
    return int(tf.random.uniform((), maxval=2**31 - 1, dtype="int64"))


def _cardinality(dataset):
    n = int(dataset.cardinality())
    return None if n < 0 else n


@keras_transfer_export("keras_transfer.data.domain_adaptation_dataset")
def domain_adaptation_dataset(
    source, target, batch_size, *, num_classes=None, shuffle=True, seed=None, shuffle_buffer=10_000,
    preprocessor=None,
):
    """Pairs labelled source batches with unlabelled target batches.

    Each element is `({"source": x_s, "target": x_t}, y_s)` (plus the source
    sample weights when given), what `keras_transfer.models.
    DomainAdaptationModel.fit` expects. An epoch is as long as the longer
    domain (in batches); the shorter one is repeated. Batches are prefetched
    with `tf.data.AUTOTUNE`.

    Args:
        source: `(x_s, y_s)` or `(x_s, y_s, sample_weight_s)` arrays, or a
            `tf.data.Dataset` of such (unbatched) elements. Labels are integer
            classes or one-hot rows.
        target: `x_t` array, or a `tf.data.Dataset` of unbatched inputs. Same
            element shape as `x_s`.
        batch_size: int, per domain (each step sees `batch_size` source and
            `batch_size` target samples), or a pair `(source, target)`.
        num_classes: int, optional: integer labels are checked to lie in
            `[0, num_classes)`.
        shuffle: bool, reshuffle each epoch. Defaults to `True`.
        seed: int or `None`, shuffling seed.
        shuffle_buffer: int, shuffle buffer of `tf.data` inputs.
        preprocessor: a callable mapped over each batch of inputs (both
            domains) in the pipeline, e.g. the keras-hub preprocessor of a
            text classifier (`text_model.preprocessor`): `x_s` and `x_t` are
            then raw strings and the model's compiled step sees token dicts.
            Defaults to `None` (inputs as given).

    Returns:
        A `tf.data.Dataset`.

    Example:

    >>> import numpy as np, keras_transfer
    >>> data = keras_transfer.data.domain_adaptation_dataset(
    ...     source=(np.zeros((10, 4)), np.arange(10) % 2), target=np.ones((25, 4)), batch_size=5)
    >>> int(data.cardinality())  # the target is longer: 5 steps, the source repeated
    5
    >>> x, y = next(iter(data))
    >>> tuple(x["source"].shape), tuple(x["target"].shape), tuple(y.shape)
    ((5, 4), (5, 4), (5,))
    """
    if target is None:
        raise _checks.invalid(
            "target", "the unlabelled target-domain inputs (an array or a tf.data.Dataset)", target,
            hint="Domain adaptation needs target data; for source-only training use model.fit(x_s, y_s).",
        )
    if isinstance(batch_size, (tuple, list)) and len(batch_size) == 2:
        source_batch = _checks.check_int("batch_size", batch_size[0], minimum=1)
        target_batch = _checks.check_int("batch_size", batch_size[1], minimum=1)
    else:
        source_batch = target_batch = _checks.check_int("batch_size", batch_size, minimum=1)
    if num_classes is not None:
        num_classes = _checks.check_int("num_classes", num_classes, minimum=1)
    if preprocessor is not None and not callable(preprocessor):
        raise _checks.invalid("preprocessor", "a callable (e.g. a keras-hub preprocessor) or None", preprocessor,
                              error=TypeError)

    source_data, source_shape, n_source = _source_spec(source)
    target_data, target_shape, n_target = _target_spec(target)
    if tuple(source_shape) != tuple(target_shape):
        raise _checks.invalid(
            "target", f"inputs of the same shape as the source inputs, {tuple(source_shape)}",
            f"inputs of shape {tuple(target_shape)}",
        )
    if n_source is not None:
        if n_source == 0:
            raise _checks.invalid("source", "at least one sample", "0 samples")
        for part in source_data[1:]:
            if part.shape[0] != n_source:
                raise _checks.invalid(
                    "source", f"labels and weights with one entry per input ({n_source})",
                    f"lengths {[p.shape[0] for p in source_data]}",
                )
        why = None if num_classes is None else f"num_classes={num_classes}"
        checks.check_class_labels("source", source_data[1], num_classes=num_classes, count=n_source, why=why)
        checks.check_examples("source", source_data[0])
        if len(source_data) == 3 and np.any(source_data[2] < 0):
            raise _checks.invalid("source", "non-negative sample weights", source_data[2].min())
        source_ds = source_data  # arrays: one dataset each, below
    else:
        source_ds = source_data
        n_source = _cardinality(source_ds)
    if n_target is not None:
        if n_target == 0:
            raise _checks.invalid("target", "at least one sample", "0 samples")
        checks.check_examples("target", target_data)
        target_ds = tf.data.Dataset.from_tensor_slices(target_data)
    else:
        target_ds = target_data
        n_target = _cardinality(target_ds)
    if n_source == 0 or n_target == 0:
        side = "source" if n_source == 0 else "target"
        raise _checks.invalid(side, "a non-empty dataset", "an empty dataset")

    source_steps = None if n_source is None else -(-n_source // source_batch)
    target_steps = None if n_target is None else -(-n_target // target_batch)
    if source_steps is not None and target_steps is not None:
        source_is_longer = source_steps >= target_steps
    else:
        source_is_longer = source_steps is None

    def prepare(dataset, n, batch, longer, domain_seed):
        if shuffle:
            buffer = n if n is not None else shuffle_buffer
            dataset = dataset.shuffle(max(1, min(buffer, shuffle_buffer) if n is None else buffer),
                                      seed=domain_seed, reshuffle_each_iteration=True)
        if not longer:
            dataset = dataset.repeat()
            return dataset.batch(batch, drop_remainder=True)
        return dataset.batch(batch)

    target_seed = None if seed is None else seed + 1
    target_ds = prepare(target_ds, n_target, target_batch, not source_is_longer, target_seed)
    if isinstance(source_ds, tuple) and preprocessor is None:
        # In-memory source: one dataset per array, shuffled with one shared seed (the same
        # permutation each epoch), zipped straight into the batch structure. No `map`: its
        # function is instantiated again for each iterator, i.e. twice per epoch of `fit`.
        shared = seed if seed is not None or not shuffle else _draw_seed()
        parts = [prepare(tf.data.Dataset.from_tensor_slices(part), n_source, source_batch, source_is_longer, shared)
                 for part in source_ds]
        data = tf.data.Dataset.zip(({"source": parts[0], "target": target_ds}, *parts[1:]))
        return data.prefetch(tf.data.AUTOTUNE)
    if isinstance(source_ds, tuple):
        source_ds = tf.data.Dataset.from_tensor_slices(source_ds)
    source_ds = prepare(source_ds, n_source, source_batch, source_is_longer, seed)

    def combine(source_element, target_element):
        source_inputs = source_element[0]
        if preprocessor is not None:
            source_inputs, target_element = preprocessor(source_inputs), preprocessor(target_element)
        inputs = {"source": source_inputs, "target": target_element}
        return (inputs, *source_element[1:])

    data = tf.data.Dataset.zip((source_ds, target_ds)).map(combine, num_parallel_calls=tf.data.AUTOTUNE)
    return data.prefetch(tf.data.AUTOTUNE)
