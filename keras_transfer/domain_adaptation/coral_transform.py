"""`CORALTransform`: source features re-coloured to the target covariance (shallow CORAL)."""

import numpy as np

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.domain_adaptation._feature_transform import FeatureTransform


def _covariance(x, regularization):
    """The unbiased covariance of the rows of `x`, plus `regularization * I`."""
    return np.atleast_2d(np.cov(x, rowvar=False)) + regularization * np.eye(x.shape[1])


def _symmetric_power(matrix, power):
    """`matrix ** power` of a symmetric positive definite matrix, through its eigendecomposition."""
    from scipy import linalg

    values, vectors = linalg.eigh(matrix)
    values = np.maximum(values, np.finfo("float64").tiny)
    return (vectors * values ** power) @ vectors.T


@keras_transfer_export("keras_transfer.domain_adaptation.CORALTransform")
class CORALTransform(FeatureTransform):
    """CORrelation ALignment: whiten the source features, re-colour them with the target covariance.

    `fit(x_source, x_target)` computes `C_s = cov(x_s) + regularization * I`
    and `C_t = cov(x_t) + regularization * I`, and
    `transform(x, "source") = x @ C_s^(-1/2) @ C_t^(1/2)`: the source
    features get the target's second-order statistics (with
    `regularization` near 0, their covariance becomes `cov(x_t)`), and
    `transform(x, "target")` returns the target features unchanged. Train
    any classifier on the transformed source features and their labels,
    and predict on the target features as they are: no target labels
    needed, no training of a network. As in the paper, means are left alone
    (the whitening and re-colouring act on the uncentred features).

    For end-to-end training of a network with the same idea, use Deep CORAL
    (`keras_transfer.losses.CORAL` in a `DomainAdaptationModel`, strategy
    `"coral"`). Inputs of any shape are flattened; with a
    `feature_extractor` its outputs (e.g. a frozen backbone's features) are
    transformed instead. The linear algebra is NumPy's (`d x d` matrices).

    Args:
        regularization: float >= 0 added to both covariance diagonals.
            Defaults to `1.0`, the paper's value for features standardised
            to unit variance; scale it with the feature variance otherwise
            (ADAPT's default is `1e-5`).
        feature_extractor: `None` (the inputs themselves) or a Keras model
            mapping the inputs to features first.

    Example:

    >>> import numpy as np, keras_transfer
    >>> rng = np.random.default_rng(0)
    >>> x_source = rng.normal(size=(500, 2)) * [1.0, 3.0]
    >>> x_target = rng.normal(size=(400, 2)) @ [[2.0, 1.0], [0.0, 1.0]]
    >>> coral = keras_transfer.domain_adaptation.CORALTransform(regularization=1e-6)
    >>> source, target = coral.fit_transform(x_source, x_target)
    >>> bool(np.allclose(np.cov(source, rowvar=False), np.cov(x_target, rowvar=False), atol=1e-4))
    True
    >>> bool(np.array_equal(target, x_target))
    True

    Reference:
        Sun, Feng and Saenko, "Return of Frustratingly Easy Domain
        Adaptation", AAAI 2016 (https://arxiv.org/abs/1511.05547).
    """

    def __init__(self, regularization=1.0, feature_extractor=None):
        super().__init__(feature_extractor)
        self.regularization = _checks.check_float("regularization", regularization, minimum=0.0)

    def _check_sizes(self, source, target):
        if source.shape[1] > 8192:
            raise _checks.invalid("x_source", "at most 8,192 features per example (CORAL holds d x d matrices)",
                                  f"{source.shape[1]} features", hint="Reduce them first (e.g. a feature_extractor).")

    def _fit(self, source, target):
        # The regularisation also keeps C_s invertible with fewer examples than features.
        whiten = _symmetric_power(_covariance(source, self.regularization), -0.5)
        recolour = _symmetric_power(_covariance(target, self.regularization), 0.5)
        self.matrix_ = whiten @ recolour

    def _transform(self, x, domain):
        return x @ self.matrix_ if domain == "source" else x
