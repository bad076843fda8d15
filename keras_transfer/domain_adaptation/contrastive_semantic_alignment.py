"""`ContrastiveSemanticAlignment`: the contrastive alignment loss of CCSA (few labelled target examples)."""

import keras
from keras import ops

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.data import checks
from keras_transfer.domain_adaptation.mmd import _squared_distances


def class_ids(labels):
    """Class ids `(n,)` from class ids `(n,)` / `(n, 1)` or one-hot rows `(n, k)`."""
    if len(labels.shape) == 2 and labels.shape[-1] != 1:
        return ops.argmax(labels, axis=-1)
    return ops.cast(ops.reshape(labels, (-1,)), "int32")


def _pair(value, argument):
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise _checks.invalid(argument, "a pair [features, labels] of one domain's batch", type(value).__name__,
                              error=TypeError)
    features, labels = value
    if isinstance(labels, (list, tuple)):  # a Python list of labels, split into scalars by `Loss.__call__`
        labels = ops.stack(labels)
    features = ops.cast(features, "float32")
    return ops.reshape(features, (ops.shape(features)[0], -1)), ops.cast(class_ids(labels), "int32")


@keras_transfer_export("keras_transfer.losses.ContrastiveSemanticAlignment")
class ContrastiveSemanticAlignment(keras.losses.Loss):
    """CCSA's loss: same-class source/target pairs pulled together, others pushed beyond a margin.

    `loss([source_features, source_labels], [target_features,
    target_labels])` takes every pair `(i, j)` of a source example and a
    labelled target example, `d_ij = |g(x_i) - g(x_j)|` the Euclidean
    distance of their features, and returns

    `0.5 * mean_{y_i = y_j} d_ij² + 0.5 * mean_{y_i != y_j} max(0, margin - d_ij)²`:

    the semantic alignment term (same class, distance minimised) and the
    separation term (different classes, a contrastive hinge), each averaged
    over its own pairs (a group without pairs in the batch counts 0), so
    that the many different-class pairs of a batch do not drown the few
    same-class ones. Labels are class ids or one-hot rows. Computed in
    float32. Give it to `keras_transfer.models.DomainAdaptationModel(...,
    alignment=ContrastiveSemanticAlignment())` with batches that hold
    labelled target examples
    (`keras_transfer.data.domain_adaptation_dataset(...,
    labelled_target=(x_l, y_l))`): that is CCSA.

    Args:
        margin: positive float, the distance beyond which different-class
            pairs cost nothing. Defaults to `1.0` (the paper's).
        name: name of the loss. Defaults to `"contrastive_semantic_alignment"`.

    Example:

    >>> import numpy as np, keras_transfer
    >>> source, source_labels = np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([0, 1])
    >>> target, target_labels = np.array([[0.0, 0.5]]), np.array([0])
    >>> # the same-class pair is 0.5 apart, the other pair sqrt(1.25) ~ 1.118 apart
    >>> csa = keras_transfer.losses.ContrastiveSemanticAlignment(margin=1.0)
    >>> round(float(csa([source, source_labels], [target, target_labels])), 4)  # 0.5 * 0.5², beyond the margin
    0.125
    >>> csa = keras_transfer.losses.ContrastiveSemanticAlignment(margin=2.0)
    >>> round(float(csa([source, source_labels], [target, target_labels])), 4)  # 0.5 * (0.25 + (2 - 1.118)²)
    0.5139

    Reference:
        Motiian et al., "Unified Deep Supervised Domain Adaptation and
        Generalization", ICCV 2017 (https://arxiv.org/abs/1709.10190).
    """

    def __init__(self, margin=1.0, name="contrastive_semantic_alignment", **kwargs):
        kwargs.pop("reduction", None)
        kwargs.pop("dtype", None)
        super().__init__(name=name, reduction="sum_over_batch_size", dtype="float32")
        self.margin = _checks.check_float("margin", margin, minimum=0.0, exclusive_minimum=True)

    def call(self, y_true, y_pred):
        (source, source_ids), (target, target_ids) = _pair(y_true, "source"), _pair(y_pred, "target")
        checks.check_same_features(source, target, "ContrastiveSemanticAlignment")
        squared = _squared_distances(source, target)
        distance = ops.sqrt(ops.maximum(squared, 1e-12))
        same = ops.cast(ops.equal(source_ids[:, None], target_ids[None, :]), "float32")
        different = 1.0 - same
        alignment = ops.sum(same * squared) / ops.maximum(ops.sum(same), 1.0)
        separation = ops.sum(different * ops.square(ops.relu(self.margin - distance))) / ops.maximum(
            ops.sum(different), 1.0)
        return 0.5 * (alignment + separation)

    def get_config(self):
        return {"name": self.name, "margin": self.margin}
