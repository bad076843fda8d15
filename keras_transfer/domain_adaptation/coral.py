"""`CORAL`: distance between the feature covariances of two batches (Deep CORAL)."""

import keras
from keras import ops

from keras_transfer.api_export import keras_transfer_export
from keras_transfer.data import checks


def _covariance(x):
    n = ops.cast(ops.shape(x)[0], "float32")
    centered = x - ops.mean(x, axis=0, keepdims=True)
    return ops.matmul(ops.transpose(centered), centered) / ops.maximum(n - 1.0, 1.0)


@keras_transfer_export("keras_transfer.losses.CORAL")
class CORAL(keras.losses.Loss):
    """Correlation alignment: `|C_s - C_t|²_F / (4 d²)` of two feature batches.

    `loss(source_features, target_features)` compares the covariance matrices
    `C_s`, `C_t` (unbiased, `d x d`) of the two batches, which may have
    different sizes. Computed in float32, also under mixed precision. Give it
    to `keras_transfer.models.DomainAdaptationModel(..., alignment=CORAL())`.

    Args:
        name: name of the loss. Defaults to `"coral"`.

    Example:

    >>> import numpy as np, keras_transfer
    >>> coral = keras_transfer.losses.CORAL()
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=(256, 3))
    >>> float(coral(a, a + 5.0)) < 1e-9  # a shift leaves covariances alone
    True
    >>> round(float(coral(a, 2.0 * a)) / float(coral(a, 3.0 * a)), 3)  # (4-1)^2 / (9-1)^2
    0.141

    Reference:
        Sun and Saenko, "Deep CORAL: Correlation Alignment for Deep Domain
        Adaptation", ECCV 2016 workshops (https://arxiv.org/abs/1607.01719).
    """

    def __init__(self, name="coral", **kwargs):
        kwargs.pop("reduction", None)
        kwargs.pop("dtype", None)
        super().__init__(name=name, reduction="sum_over_batch_size", dtype="float32")

    def call(self, y_true, y_pred):
        checks.check_same_features(y_true, y_pred, "CORAL")
        source = ops.reshape(ops.cast(y_true, "float32"), (ops.shape(y_true)[0], -1))
        target = ops.reshape(ops.cast(y_pred, "float32"), (ops.shape(y_pred)[0], -1))
        d = ops.cast(ops.shape(source)[-1], "float32")
        difference = _covariance(source) - _covariance(target)
        return ops.sum(ops.square(difference)) / (4.0 * d * d)

    def get_config(self):
        return {"name": self.name}
