"""TransRate: the coding rate of the features minus their coding rate given the class."""

import numpy as np

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.selection import _inputs
from keras_transfer.selection._spectrum import gram_eigenvalues


def coding_rate(z, eps):
    """`R(Z, eps) = 1/2 log det(I_d + d / (n eps^2) Z^T Z)` for `z` `(n, d)`, in nats.

    The number of nats per sample needed to code the rows of `Z` up to a
    mean squared distortion `eps^2` per sample (Ma et al., 2007), from the
    squared singular values of `Z`: `1/2 sum_i log(1 + d / (n eps^2) s_i^2)`.
    """
    n, dim = z.shape
    return 0.5 * float(np.sum(np.log1p(dim / (n * eps**2) * gram_eigenvalues(z))))


def normalise(features):
    """Centred features scaled to a mean squared row norm of 1 (zeros stay zeros)."""
    centred = features - features.mean(axis=0)
    norm = np.sqrt(np.mean(np.sum(centred**2, axis=1)))
    return centred / norm if norm > 0 else centred


def transrate_of(features, codes, eps):
    """TransRate of float64 `features` and class codes: `R(Z, eps) - sum_c n_c / n R(Z_c, eps)`."""
    z = normalise(features)
    n = len(z)
    conditional = sum(np.sum(codes == c) / n * coding_rate(z[codes == c], eps) for c in range(int(codes.max()) + 1))
    return float(coding_rate(z, eps) - conditional)


@keras_transfer_export("keras_transfer.selection.transrate")
def transrate(features, labels, eps=1e-1):
    """TransRate: mutual information of features and labels, estimated by coding rate; higher = better.

    `TrR = R(Z, eps) - R(Z, eps | Y)`, with the coding rate
    `R(Z, eps) = 1/2 log det(I + d / (n eps^2) Z^T Z)` of the `n` rows of
    `Z` in `d` dimensions and its class-conditional average
    `R(Z, eps | Y) = sum_c (n_c / n) R(Z_c, eps)`, where `Z_c` holds the
    rows of class `c`. High when the features fill many directions overall
    (completeness) but those of each class are compact (compactness).
    `Z` is the features centred and scaled to a mean squared row norm of
    1, so the score does not depend on the features' offset or scale (nor
    on a rotation), and `eps` is a distortion relative to that norm. In
    nats and >= 0 (the log-determinant is concave). With few samples per
    class in many dimensions even random features score well above 0:
    compare candidates on the same labels, the same `eps` and similar
    feature sizes. The authors' released code computes the same quantity
    with another parametrisation (its `eps` is `eps**2 / (dim * n)` here, on
    features scaled to a unit Frobenius norm) and averages the class rates
    uniformly; with balanced classes the two agree (tested).

    Args:
        features: `(n, dim)` features of the target samples from one
            candidate.
        labels: `(n,)` integer class ids or `(n, classes)` one-hot rows;
            at least 2 classes with 2 samples each.
        eps: the distortion `eps > 0` of the coding rate (default 0.1),
            relative to the root mean squared norm of the centred features.

    Returns:
        The TransRate, a Python float in nats; higher = better.

    Example:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> labels = np.repeat([0, 1, 2], 30)
    >>> separated = rng.normal(size=(90, 4)) + 4.0 * np.eye(3, 4)[labels]
    >>> noise = rng.normal(size=(90, 4))
    >>> transrate(separated, labels) > transrate(noise, labels)
    True

    Reference:
        Huang, Huang, Rong, Yang and Wei, "Frustratingly Easy
        Transferability Estimation", ICML 2022,
        https://arxiv.org/abs/2106.09362
    """
    eps = _checks.check_float("eps", eps, minimum=0.0, exclusive_minimum=True)
    codes = _inputs.check_labels(labels)
    features = _inputs.check_features(features, len(codes))
    return transrate_of(features, codes, eps)
