"""`JMMD`: joint maximum mean discrepancy over features and class predictions (JAN)."""

from keras import ops

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.data import checks
from keras_transfer.domain_adaptation.mmd import MMD, _squared_distances, discrepancy


def _pair(value, argument):
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise _checks.invalid(argument, "a pair [features, class probabilities] of one domain's batch",
                              type(value).__name__, error=TypeError)
    features, probabilities = value
    features = ops.cast(features, "float32")
    return ops.reshape(features, (ops.shape(features)[0], -1)), ops.cast(probabilities, "float32")


@keras_transfer_export("keras_transfer.losses.JMMD")
class JMMD(MMD):
    """Joint MMD² of (features, class probabilities) between source and target (JAN).

    `loss([source_features, source_probabilities], [target_features,
    target_probabilities])` is the MMD² of the joint distributions, with the
    product kernel `k_f(f, f') * k_p(p, p')`: `k_f` is `MMD`'s multi-kernel
    Gaussian on the features (the same `bandwidth_multipliers` and
    data-driven `bandwidth`), `k_p = exp(-|p - p'|² / (2 sigma²))` on the
    class probabilities, `sigma = prediction_sigma` (0.92 in the paper's
    code). Aligning the joint distributions, not only the features, keeps
    the classes apart while the domains are brought together.

    Give it to `keras_transfer.models.DomainAdaptationModel(...,
    alignment=JMMD())`: the model passes the softmax of its classifier's
    outputs (or the outputs themselves, when they are probabilities).

    Args:
        bandwidth_multipliers: as `MMD`. Defaults to `(0.25, 0.5, 1.0, 2.0, 4.0)`.
        bandwidth: as `MMD`. Defaults to `None` (data-driven).
        prediction_sigma: positive float, the width of the kernel on the
            class probabilities. Defaults to `0.92`.
        name: name of the loss. Defaults to `"jmmd"`.

    Example:

    >>> import numpy as np, keras_transfer
    >>> jmmd = keras_transfer.losses.JMMD()
    >>> rng = np.random.default_rng(0)
    >>> f, p = rng.normal(size=(32, 4)), rng.dirichlet(np.ones(3), 32)
    >>> float(jmmd([f, p], [f, p]))
    0.0
    >>> float(jmmd([f, p], [f, p[::-1]])) > 0.0  # same features, other class predictions
    True

    Reference:
        Long et al., "Deep Transfer Learning with Joint Adaptation
        Networks", ICML 2017 (https://arxiv.org/abs/1605.06636).
    """

    def __init__(self, bandwidth_multipliers=(0.25, 0.5, 1.0, 2.0, 4.0), bandwidth=None, prediction_sigma=0.92,
                 name="jmmd", **kwargs):
        super().__init__(bandwidth_multipliers, bandwidth, name=name, **kwargs)
        self.prediction_sigma = _checks.check_float("prediction_sigma", prediction_sigma, minimum=0.0,
                                                    exclusive_minimum=True)

    def call(self, y_true, y_pred):
        source, target = _pair(y_true, "source"), _pair(y_pred, "target")
        checks.check_same_features(source[0], target[0], "JMMD")
        checks.check_same_features(source[1], target[1], "JMMD")
        # One kernel matrix over the joint batch (source rows first); MMD² from its blocks.
        features = ops.concatenate([source[0], target[0]], axis=0)
        probabilities = ops.concatenate([source[1], target[1]], axis=0)
        d2 = _squared_distances(features, features)
        kernel = self.kernel_matrix(d2, self.base_bandwidth(d2))
        kernel = kernel * ops.exp(_squared_distances(probabilities, probabilities) * (-0.5 / self.prediction_sigma ** 2))
        return discrepancy(kernel, ops.shape(source[0])[0])

    def get_config(self):
        return {**super().get_config(), "prediction_sigma": self.prediction_sigma}
