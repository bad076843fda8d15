"""`MMD`: multi-kernel maximum mean discrepancy between two feature batches (DAN)."""

import keras
from keras import ops

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.data import checks


def discrepancy(kernel, n_source):
    """The biased MMD² from the kernel matrix of the joint batch (source rows first)."""
    ss = ops.mean(kernel[:n_source, :n_source])
    tt = ops.mean(kernel[n_source:, n_source:])
    st = ops.mean(kernel[:n_source, n_source:])
    return ops.maximum(ss + tt - 2.0 * st, 0.0)


def _squared_distances(a, b):
    a2 = ops.sum(ops.square(a), axis=-1, keepdims=True)
    b2 = ops.sum(ops.square(b), axis=-1, keepdims=True)
    return ops.maximum(a2 - 2.0 * ops.matmul(a, ops.transpose(b)) + ops.transpose(b2), 0.0)


@keras_transfer_export("keras_transfer.losses.MMD")
class MMD(keras.losses.Loss):
    """Multi-kernel maximum mean discrepancy (MMD²) between source and target features.

    `loss(source_features, target_features)` returns the (biased, V-statistic)
    estimate of MMD² with a sum of Gaussian kernels,
    `k(a, b) = mean_i exp(-|a - b|² / (m_i * s))`, where the `m_i` are
    `bandwidth_multipliers` and `s` is `bandwidth`, or by default the mean
    pairwise squared distance of the joint batch (without gradient), as DAN
    does. The two batches may have different sizes. Computed in float32, also
    under mixed precision. Give it to
    `keras_transfer.models.DomainAdaptationModel(..., alignment=MMD())`.

    Args:
        bandwidth_multipliers: list of positive floats, one kernel each.
            Defaults to `(0.25, 0.5, 1.0, 2.0, 4.0)`.
        bandwidth: positive float, the base bandwidth `s`, or `None` for the
            data-driven one. Defaults to `None`.
        name: name of the loss. Defaults to `"mmd"`.

    Example:

    >>> import numpy as np, keras_transfer
    >>> mmd = keras_transfer.losses.MMD()
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=(64, 4)), rng.normal(size=(48, 4))
    >>> float(mmd(a, a))
    0.0
    >>> float(mmd(a, b)) < float(mmd(a, b + 2.0))
    True

    Reference:
        Long et al., "Learning Transferable Features with Deep Adaptation
        Networks", ICML 2015 (https://arxiv.org/abs/1502.02791); Gretton et
        al., "A Kernel Two-Sample Test", JMLR 2012.
    """

    def __init__(self, bandwidth_multipliers=(0.25, 0.5, 1.0, 2.0, 4.0), bandwidth=None, name="mmd", **kwargs):
        kwargs.pop("reduction", None)
        kwargs.pop("dtype", None)
        super().__init__(name=name, reduction="sum_over_batch_size", dtype="float32")
        if isinstance(bandwidth_multipliers, (int, float)) and not isinstance(bandwidth_multipliers, bool):
            bandwidth_multipliers = (bandwidth_multipliers,)
        if not isinstance(bandwidth_multipliers, (list, tuple)) or not bandwidth_multipliers:
            raise _checks.invalid(
                "bandwidth_multipliers", "a non-empty list of positive floats", bandwidth_multipliers,
                error=TypeError,
            )
        self.bandwidth_multipliers = tuple(
            _checks.check_float("bandwidth_multipliers", m, minimum=0.0, exclusive_minimum=True)
            for m in bandwidth_multipliers
        )
        self.bandwidth = (
            None if bandwidth is None
            else _checks.check_float("bandwidth", bandwidth, minimum=0.0, exclusive_minimum=True)
        )

    def kernel_matrix(self, d2, base):
        """`mean_i exp(-d2 / (m_i * base))` of a matrix of squared distances."""
        terms = [ops.exp(-d2 / (m * base)) for m in self.bandwidth_multipliers]
        return sum(terms[1:], terms[0]) * (1.0 / len(terms))

    def base_bandwidth(self, d2):
        """`bandwidth`, or the mean pairwise squared distance (i != j) of the joint batch `d2`, without gradient."""
        if self.bandwidth is not None:
            return ops.convert_to_tensor(self.bandwidth, "float32")
        n = ops.cast(ops.shape(d2)[0], "float32")
        base = ops.stop_gradient(ops.mean(d2))
        return ops.maximum(base * n / ops.maximum(n - 1.0, 1.0), 1e-6)

    def call(self, y_true, y_pred):
        checks.check_same_features(y_true, y_pred, "MMD")
        source = ops.reshape(ops.cast(y_true, "float32"), (ops.shape(y_true)[0], -1))
        target = ops.reshape(ops.cast(y_pred, "float32"), (ops.shape(y_pred)[0], -1))
        joint = ops.concatenate([source, target], axis=0)
        d2 = _squared_distances(joint, joint)
        return discrepancy(self.kernel_matrix(d2, self.base_bandwidth(d2)), ops.shape(source)[0])

    def get_config(self):
        return {
            "name": self.name,
            "bandwidth_multipliers": list(self.bandwidth_multipliers),
            "bandwidth": self.bandwidth,
        }
