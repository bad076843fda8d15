"""H-score: how much of the features' variance the class means explain, `tr(cov(f)^-1 cov(E[f|y]))`."""

import numbers

import numpy as np

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.selection import _inputs
from keras_transfer.selection._spectrum import spectrum


def ledoit_wolf_shrinkage(centred):
    """The Ledoit-Wolf (2004) shrinkage intensity of the covariance of `centred` rows `(n, d)`.

    The estimator `(1 - s) S + s mu I` with `S = X^T X / n`, `mu = tr(S) / d`
    and `s = min(b2, d2) / d2`, where `d2 = |S - mu I|_F^2 / d` and
    `b2 = sum_i |x_i x_i^T - S|_F^2 / (n^2 d)`. Both norms come from the
    Gram matrix and the row norms (`sum_i |x_i x_i^T - S|^2 = sum_i |x_i|^4 -
    n |S|^2`), so a wide `X` never forms the `d x d` covariance. The same
    value as `sklearn.covariance.ledoit_wolf_shrinkage`.
    """
    n, dim = centred.shape
    gram = centred.T @ centred if dim <= n else centred @ centred.T
    s_norm2 = float(np.sum(gram**2)) / n**2
    mu = float(np.trace(gram)) / (n * dim)
    d2 = (s_norm2 - dim * mu**2) / dim
    b2 = (float(np.sum(np.sum(centred**2, axis=1) ** 2)) / n - s_norm2) / (n * dim)
    if d2 <= 0:
        return 0.0
    return float(min(b2, d2) / d2)


def _check_shrinkage(shrinkage):
    if isinstance(shrinkage, str):
        return _checks.check_choice("shrinkage", shrinkage, ("ledoit_wolf",))
    if isinstance(shrinkage, bool) or not isinstance(shrinkage, numbers.Real):
        raise _checks.invalid("shrinkage", '"ledoit_wolf" or a number in [0, 1]', shrinkage, error=TypeError)
    return _checks.check_float("shrinkage", shrinkage, minimum=0.0, maximum=1.0)


def h_score_of(features, codes, shrinkage):
    """H-score of float64 `features` and class codes, `shrinkage` checked (`"ledoit_wolf"` or a float).

    With `X` the centred features, `S = X^T X / n`, `m_c` the centred class
    means and `w_c = n_c / n`, `cov(E[f|y]) = sum_c w_c m_c m_c^T`, and

        H = (1 - s) sum_c w_c m_c^T ((1 - s) S + s mu I)^-1 m_c

    (Ibrahim et al.'s regularised H-score; `s = 0` is Bao et al.'s with a
    pseudo-inverse, eigenvalues of `S` under 1e-10 of the largest taken as 0).
    Computed in the singular basis of `X`: `V^T m_c = sigma U^T 1_c / n_c`.
    """
    n, dim = features.shape
    centred = features - features.mean(axis=0)
    s = ledoit_wolf_shrinkage(centred) if shrinkage == "ledoit_wolf" else shrinkage
    s2, u = spectrum(centred)
    indicator = _inputs.one_hot(codes)
    counts = indicator.sum(axis=0)
    weights = counts / n
    projections = np.sqrt(s2)[:, None] * (u.T @ indicator) / counts  # (k, C): V^T m_c
    eigenvalues = s2 / n
    if s == 0:
        return float(np.sum(weights * np.sum(projections**2 / eigenvalues[:, None], axis=0)))
    mu = float(np.sum(centred**2)) / (n * dim)
    inside = np.sum(projections**2 / ((1 - s) * eigenvalues[:, None] + s * mu), axis=0)
    means = indicator.T @ centred / counts[:, None]
    outside = np.maximum(np.sum(means**2, axis=1) - np.sum(projections**2, axis=0), 0.0) / (s * mu)
    return float((1 - s) * np.sum(weights * (inside + outside)))


@keras_transfer_export("keras_transfer.selection.hscore")
def hscore(features, labels, shrinkage="ledoit_wolf"):
    """H-score: `tr(cov(f)^-1 cov(E[f | y]))`, class separation in units of feature variance; higher = better.

    The between-class covariance of the features measured against their
    total covariance: the Fisher-style separability of the classes by a
    linear map of the features (Bao et al., 2019). In high dimension the
    sample covariance is singular or nearly so, and the plain score is
    dominated by noise directions (with `dim >= n - 1` its pseudo-inverse
    form saturates at `classes - 1` whatever the features). The default
    shrinks it with Ledoit-Wolf, `(1 - s) cov + s mu I` with `s` estimated
    from the data, and scales the between-class term by `(1 - s)` (Ibrahim
    et al., 2022, "regularised H-score"). The value is invariant to
    translating and scaling the features (to rotating them as well), and to
    relabelling the classes; it lies in `[0, classes - 1]`.

    Args:
        features: `(n, dim)` features of the target samples from one
            candidate.
        labels: `(n,)` integer class ids or `(n, classes)` one-hot rows;
            at least 2 classes with 2 samples each.
        shrinkage: `"ledoit_wolf"` (default) for the Ledoit-Wolf estimate,
            a number in `[0, 1]` for a fixed shrinkage intensity, `0.0` for
            the original H-score with a pseudo-inverse of the covariance.

    Returns:
        The H-score, a Python float; higher = better.

    Example:

    >>> import numpy as np
    >>> labels = np.array([0, 0, 1, 1])
    >>> features = np.array([[0.0], [2.0], [4.0], [6.0]])
    >>> round(hscore(features, labels, shrinkage=0.0), 6)  # cov(E[f|y]) = 4, cov(f) = 5
    0.8

    Reference:
        Bao, Li, Huang, Zheng, Zhao and Tong, "An Information-Theoretic
        Approach to Transferability in Task Transfer Learning", ICIP 2019,
        https://ieeexplore.ieee.org/document/8803726 ;
        Ibrahim, Ponomareva and Mazumder, "Newer is not always better:
        Rethinking transferability metrics, their peculiarities, stability
        and performance", ECML PKDD 2022, https://arxiv.org/abs/2110.06893
    """
    shrinkage = _check_shrinkage(shrinkage)
    codes = _inputs.check_labels(labels)
    features = _inputs.check_features(features, len(codes))
    return h_score_of(features, codes, shrinkage)
