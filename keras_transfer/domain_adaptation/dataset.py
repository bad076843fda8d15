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


def _source_spec(source, name="source"):
    """`(data, element shape, count)` of labelled `(x, y)` / `(x, y, w)` arrays or a dataset of such elements."""
    sizes = (2, 3) if name == "source" else (2,)
    pairs = "(x, y) or (x, y, sample_weight)" if name == "source" else "(x, y)"
    if _is_dataset(source):
        spec = source.element_spec
        if not isinstance(spec, tuple) or len(spec) not in sizes:
            raise _checks.invalid(name, f"a tf.data.Dataset of {pairs} elements (labels missing?)", spec)
        return source, tuple(spec[0].shape), None
    if not isinstance(source, (tuple, list)) or len(source) not in sizes:
        raise _checks.invalid(
            name, f"a tuple {pairs} of arrays: the labels are missing" if name == "source" else f"a tuple {pairs}",
            type(source).__name__ if not isinstance(source, (tuple, list)) else f"a tuple of {len(source)}",
        )
    arrays = [_array(name, part) for part in source]
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
            "target", "an array of unlabelled inputs", f"a {type(target).__name__} of {len(target)}", error=TypeError,
            hint="Labelled target examples go to labelled_target=(x_l, y_l).",
        )
    array = _array("target", target)
    return array, array.shape[1:], array.shape[0]


def _draw_seed():
    """A shuffle seed from TensorFlow's global generator (reproducible after `keras.utils.set_random_seed`)."""
    return int(tf.random.uniform((), maxval=2**31 - 1, dtype="int64"))


def _cardinality(dataset):
    n = int(dataset.cardinality())
    return None if n < 0 else n


def _labelled_stream(name, data, n, num_classes):
    """A checked `tf.data.Dataset` of labelled `(x, y[, w])` slices, or the given dataset."""
    if n is None:
        return data, _cardinality(data)
    if n == 0:
        raise _checks.invalid(name, "at least one sample", "0 samples")
    for part in data[1:]:
        if part.shape[0] != n:
            raise _checks.invalid(name, f"labels and weights with one entry per input ({n})",
                                  f"lengths {[p.shape[0] for p in data]}")
    why = None if num_classes is None else f"num_classes={num_classes}"
    checks.check_class_labels(name, data[1], num_classes=num_classes, count=n, why=why)
    checks.check_examples(name, data[0])
    if len(data) == 3 and np.any(data[2] < 0):
        raise _checks.invalid(name, "non-negative sample weights", data[2].min())
    return tuple(data), n  # arrays: one dataset each, batched without a map (`domain_adaptation_dataset`)


def _label_spec(data):
    """The shape of one label (`()` for class ids, `(k,)` for one-hot rows)."""
    if _is_dataset(data):
        return tuple(data.element_spec[1].shape)
    return tuple(data[1].shape[1:]) if data[1].ndim == 2 and data[1].shape[1] > 1 else ()


@keras_transfer_export("keras_transfer.data.domain_adaptation_dataset")
def domain_adaptation_dataset(
    source, target, batch_size, *, labelled_target=None, num_classes=None, shuffle=True, seed=None,
    shuffle_buffer=10_000, preprocessor=None,
):
    """Pairs labelled source batches with unlabelled (and labelled) target batches.

    Each element is `({"source": x_s, "target": x_t}, y_s)` (plus the source
    sample weights when given), what `keras_transfer.models.
    DomainAdaptationModel.fit` expects. With `labelled_target=(x_l, y_l)`
    (a few labelled target examples: semi-supervised or supervised domain
    adaptation, CCSA), the inputs also hold `"labelled_target": x_l` and
    `"labelled_target_labels": y_l`, a batch of them at every step; with
    `target=None` the `"target"` key is left out (CCSA and the source +
    labelled-target baseline need no unlabelled target). An epoch is as long
    as the longest stream (in batches); the shorter ones are repeated.
    Batches are prefetched with `tf.data.AUTOTUNE`.

    Args:
        source: `(x_s, y_s)` or `(x_s, y_s, sample_weight_s)` arrays, or a
            `tf.data.Dataset` of such (unbatched) elements. Labels are integer
            classes or one-hot rows.
        target: `x_t` array, or a `tf.data.Dataset` of unbatched inputs. Same
            element shape as `x_s`. May be `None` when `labelled_target` is
            given.
        batch_size: int, per domain (each step sees `batch_size` source and
            `batch_size` target samples), or a pair `(source, target)`; the
            labelled target batches have the target's size.
        labelled_target: `(x_l, y_l)` arrays (or a `tf.data.Dataset` of
            such elements) of labelled target examples, labels in the
            source's format. Defaults to `None`.
        num_classes: int, optional: integer labels are checked to lie in
            `[0, num_classes)`.
        shuffle: bool, reshuffle each epoch. Defaults to `True`.
        seed: int or `None`, shuffling seed.
        shuffle_buffer: int, shuffle buffer of `tf.data` inputs.
        preprocessor: a callable mapped over each batch of inputs (every
            domain) in the pipeline, e.g. the keras-hub preprocessor of a
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
    >>> few = keras_transfer.data.domain_adaptation_dataset(
    ...     source=(np.zeros((10, 4)), np.arange(10) % 2), target=None,
    ...     labelled_target=(np.ones((4, 4)), np.array([0, 1, 0, 1])), batch_size=5)
    >>> x, y = next(iter(few))
    >>> sorted(x), tuple(x["labelled_target"].shape)
    (['labelled_target', 'labelled_target_labels', 'source'], (5, 4))
    """
    if target is None and labelled_target is None:
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
    streams = {"source": [*_labelled_stream("source", source_data, n_source, num_classes), source_batch]}
    if target is not None:
        target_data, target_shape, n_target = _target_spec(target)
        _check_shape("target", source_shape, target_shape)
        if n_target == 0:
            raise _checks.invalid("target", "at least one sample", "0 samples")
        if n_target is not None:
            checks.check_examples("target", target_data)
            target_data = tf.data.Dataset.from_tensor_slices(target_data)
        streams["target"] = [target_data, _cardinality(target_data) if n_target is None else n_target, target_batch]
    if labelled_target is not None:
        labelled_data, labelled_shape, n_labelled = _source_spec(labelled_target, "labelled_target")
        _check_shape("labelled_target", source_shape, labelled_shape)
        if _label_spec(labelled_data) != _label_spec(source_data):
            raise _checks.invalid("labelled_target", "labels in the format of the source labels (class ids of shape "
                                  f"{_label_spec(source_data)}, per example)",
                                  f"labels of shape {_label_spec(labelled_data)} per example")
        streams["labelled_target"] = [*_labelled_stream("labelled_target", labelled_data, n_labelled, num_classes),
                                      target_batch]
    for side, (_, n, _) in streams.items():
        if n == 0:
            raise _checks.invalid(side, "a non-empty dataset", "an empty dataset")

    steps = {side: None if n is None else -(-n // batch) for side, (_, n, batch) in streams.items()}
    # The longest stream (an infinite one, else the most batches; the source on ties) sets the epoch.
    longest = next((side for side, s in steps.items() if s is None), None) or max(steps, key=lambda k: (steps[k], k == "source"))

    def batched(dataset, side, domain_seed):
        _, n, batch = streams[side]
        if shuffle:
            buffer = n if n is not None else shuffle_buffer
            dataset = dataset.shuffle(max(1, min(buffer, shuffle_buffer) if n is None else buffer),
                                      seed=domain_seed, reshuffle_each_iteration=True)
        if side != longest:
            return dataset.repeat().batch(batch, drop_remainder=True)
        return dataset.batch(batch)

    def prepare(side, domain_seed):
        data = streams[side][0]
        if isinstance(data, tuple):
            # In-memory arrays: one dataset per array, all shuffled with one seed (the same
            # permutation every epoch), so that labels and weights stay with their inputs.
            shared = domain_seed if domain_seed is not None or not shuffle else _draw_seed()
            return tuple(batched(tf.data.Dataset.from_tensor_slices(part), side, shared) for part in data)
        return batched(data, side, domain_seed)

    seeds = {"source": seed, "target": None if seed is None else seed + 1,
             "labelled_target": None if seed is None else seed + 2}
    prepared = {side: prepare(side, seeds[side]) for side in streams}
    labelled_sides = [side for side in ("source", "labelled_target") if side in prepared]
    if preprocessor is None and all(isinstance(prepared[side], tuple) for side in labelled_sides):
        # Zipped straight into the batch structure, no `map`: its function would be
        # instantiated again for each iterator, i.e. twice per epoch of `fit`.
        inputs = {"source": prepared["source"][0]}
        if "target" in prepared:
            inputs["target"] = prepared["target"]
        if "labelled_target" in prepared:
            inputs["labelled_target"], inputs["labelled_target_labels"] = prepared["labelled_target"]
        data = tf.data.Dataset.zip((inputs, *prepared["source"][1:]))
        return data.prefetch(tf.data.AUTOTUNE)
    prepared = {side: tf.data.Dataset.zip(part) if isinstance(part, tuple) else part for side, part in prepared.items()}
    sides = tuple(prepared)

    def combine(*elements):
        parts = dict(zip(sides, elements))
        source_element = parts["source"]
        inputs = {"source": source_element[0]}
        if "target" in parts:
            inputs["target"] = parts["target"]
        if "labelled_target" in parts:
            inputs["labelled_target"] = parts["labelled_target"][0]
        if preprocessor is not None:
            inputs = {side: preprocessor(x) for side, x in inputs.items()}
        if "labelled_target" in parts:
            inputs["labelled_target_labels"] = parts["labelled_target"][1]
        return (inputs, *source_element[1:])

    data = tf.data.Dataset.zip(tuple(prepared.values())).map(combine, num_parallel_calls=tf.data.AUTOTUNE)
    return data.prefetch(tf.data.AUTOTUNE)


def _check_shape(name, source_shape, shape):
    if tuple(source_shape) != tuple(shape):
        raise _checks.invalid(name, f"inputs of the same shape as the source inputs, {tuple(source_shape)}",
                              f"inputs of shape {tuple(shape)}")
