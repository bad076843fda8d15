"""`ssl_dataset`: labelled and unlabelled batches zipped for `FixMatch.fit`."""

import numpy as np
import tensorflow as tf

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.data import checks


@keras_transfer_export("keras_transfer.ssl.ssl_dataset")
def ssl_dataset(labeled, unlabeled, *, batch_size, unlabeled_ratio=7, seed=None):
    """A `tf.data.Dataset` of `((x_labeled, x_unlabeled), y[, sample_weight])` batches.

    One epoch is one pass over the unlabelled images, in batches of
    `batch_size * unlabeled_ratio`; the labelled set is reshuffled and
    repeated as often as needed, in batches of `batch_size` (FixMatch's
    sampling). Both are shuffled every epoch.

    Args:
        labeled: `(x, y)` or `(x, y, sample_weight)` arrays.
        unlabeled: array of unlabelled images.
        batch_size: int, labelled images per step.
        unlabeled_ratio: int >= 1, unlabelled images per labelled image.
            Defaults to `7`.
        seed: int or `None`, shuffling seed.

    Example:

    >>> import numpy as np, keras_transfer
    >>> x, y = np.zeros((10, 4, 4, 1), "float32"), np.arange(10) % 2
    >>> ds = keras_transfer.ssl.ssl_dataset((x, y), np.zeros((60, 4, 4, 1), "float32"),
    ...                                     batch_size=2, unlabeled_ratio=3, seed=0)
    >>> (x_l, x_u), y_l = next(iter(ds))
    >>> x_l.shape[0], x_u.shape[0], len(list(ds))
    (2, 6, 10)

    Reference:
        Sohn et al., "FixMatch: Simplifying Semi-Supervised Learning with
        Consistency and Confidence", NeurIPS 2020.
    """
    if not isinstance(labeled, (tuple, list)) or len(labeled) not in (2, 3):
        raise _checks.invalid("labeled", "a tuple (x, y) or (x, y, sample_weight)", labeled, error=TypeError)
    batch_size = _checks.check_int("batch_size", batch_size, minimum=1)
    unlabeled_ratio = _checks.check_int("unlabeled_ratio", unlabeled_ratio, minimum=1)
    count = len(labeled[0])
    for part in labeled[1:]:
        if len(part) != count:
            raise _checks.invalid("labeled", f"arrays of equal length ({count})", [len(p) for p in labeled])
    if count < batch_size:
        raise _checks.invalid("batch_size", f"at most the {count} labelled examples", batch_size)
    x_labeled, unlabeled = checks.check_examples("labeled", np.asarray(labeled[0])), np.asarray(unlabeled)
    checks.check_examples("unlabeled", unlabeled, example_shape=x_labeled.shape[1:])
    y = np.asarray(labeled[1])
    if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1):
        checks.check_labels("labeled", y, num_classes=None)
    unlabeled_batch = batch_size * unlabeled_ratio
    if len(unlabeled) < unlabeled_batch:
        raise _checks.invalid(
            "unlabeled", f"at least batch_size * unlabeled_ratio = {unlabeled_batch} images",
            f"{len(unlabeled)} images",
        )
    labeled_ds = tf.data.Dataset.from_tensor_slices(tuple(np.asarray(p) for p in labeled))
    labeled_ds = labeled_ds.shuffle(count, seed=seed).repeat().batch(batch_size, drop_remainder=True)
    unlabeled_ds = tf.data.Dataset.from_tensor_slices(np.asarray(unlabeled))
    unlabeled_ds = unlabeled_ds.shuffle(min(len(unlabeled), 50_000), seed=None if seed is None else seed + 1)
    unlabeled_ds = unlabeled_ds.batch(unlabeled_batch, drop_remainder=True)

    def arrange(x_u, batch):
        return ((batch[0], x_u), *batch[1:])

    return tf.data.Dataset.zip(unlabeled_ds, labeled_ds).map(arrange).prefetch(tf.data.AUTOTUNE)
