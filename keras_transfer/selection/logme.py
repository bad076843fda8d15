"""LogME: the maximised evidence of a Bayesian linear model from features to one-hot labels."""

import numpy as np

from keras_transfer.api_export import keras_transfer_export
from keras_transfer.selection import _inputs
from keras_transfer.selection._spectrum import spectrum

# The fixed point stops when alpha and beta move by less than this (relative).
_TOLERANCE = 1e-10
_MAX_ITERATIONS = 10_000
# Features are rescaled so their largest squared singular value is 1 (the
# maximum evidence does not change: alpha absorbs the scale); alpha and beta
# then live in a bounded range, and the bounds stand for "infinitely strong
# prior" (no signal in the features) and "noise-free fit" (labels in the span).
_BOUNDS = (1e-12, 1e12)


def evidence(alpha, beta, s2, z, y_norm2, n):
    """Log evidence `log p(y | F, alpha, beta)` of the model `y = F w + noise` (arrays over classes).

    `w ~ N(0, I / alpha)`, `noise ~ N(0, 1 / beta)`. With `F = U S V^T`
    (`s2 = diag(S)^2`, `k` nonzero values) and `z = U^T y`:

        log p = n/2 log beta + k/2 log alpha - n/2 log 2 pi
                - beta/2 |y - F m|^2 - alpha/2 |m|^2 - 1/2 sum_i log(alpha + beta s2_i)

    where `m = beta A^-1 F^T y`, `A = alpha I + beta F^T F`: the `dim - k`
    directions the features do not span add `1/2 log alpha - 1/2 log alpha`,
    nothing. Also returns `(gamma, |m|^2, |y - F m|^2)` for the update.
    """
    s2 = s2[:, None]
    denominator = alpha + beta * s2
    m2 = np.sum(beta**2 * s2 * z**2 / denominator**2, axis=0)
    residual = np.sum(alpha**2 * z**2 / denominator**2, axis=0) + np.maximum(y_norm2 - np.sum(z**2, axis=0), 0.0)
    gamma = np.sum(beta * s2 / denominator, axis=0)
    log_evidence = (
        n / 2 * np.log(beta) + len(s2) / 2 * np.log(alpha) - n / 2 * np.log(2 * np.pi)
        - beta / 2 * residual - alpha / 2 * m2 - 0.5 * np.sum(np.log(denominator), axis=0)
    )
    return log_evidence, gamma, m2, residual


def maximise_evidence(features, targets):
    """`(log_evidence, alpha, beta)` per target column, at the fixed point of MacKay's updates.

    The updates of You et al. (2021), Algorithm 1: `gamma = sum beta s2 /
    (alpha + beta s2)`, `alpha = gamma / |m|^2`, `beta = (n - gamma) /
    |y - F m|^2`, from `alpha = beta = 1`, all target columns at once.
    `alpha` is reported for the features as given (not the rescaled ones).
    """
    n = len(features)
    s2, u = spectrum(features)
    scale = float(s2.max()) if len(s2) else 1.0
    s2 = s2 / scale
    z = u.T @ targets
    y_norm2 = np.sum(targets**2, axis=0)
    alpha = np.ones(targets.shape[1])
    beta = np.ones(targets.shape[1])
    for _ in range(_MAX_ITERATIONS):
        _, gamma, m2, residual = evidence(alpha, beta, s2, z, y_norm2, n)
        new_alpha = np.clip(gamma / np.maximum(m2, 1e-300), *_BOUNDS)
        new_beta = np.clip((n - gamma) / np.maximum(residual, 1e-300), *_BOUNDS)
        moved = max(np.max(np.abs(np.log(new_alpha / alpha))), np.max(np.abs(np.log(new_beta / beta))))
        alpha, beta = new_alpha, new_beta
        if moved < _TOLERANCE:
            break
    log_evidence = evidence(alpha, beta, s2, z, y_norm2, n)[0]
    return log_evidence, alpha * scale, beta


@keras_transfer_export("keras_transfer.selection.logme")
def logme(features, labels):
    """LogME: log maximum evidence per sample of a linear model on the features; higher = better.

    For each class `c`, the one-hot column `y_c` is modelled as a Bayesian
    linear regression on the features, `y_c = F w + noise` with prior
    `w ~ N(0, I / alpha)` and noise `N(0, 1 / beta)`; `alpha` and `beta` are
    set by evidence maximisation (MacKay's fixed-point iteration, computed
    from one SVD of `F`), and the score is the mean over classes of the
    maximised `log p(y_c | F) / n`. No bias is fitted (the paper's model);
    the value is invariant to scaling and rotating the features and to
    relabelling the classes. It is a log density, not bounded: compare
    candidates on the same labels only.

    Args:
        features: `(n, dim)` features of the target samples from one
            candidate (e.g. pooled backbone outputs).
        labels: `(n,)` integer class ids or `(n, classes)` one-hot rows;
            at least 2 classes with 2 samples each.

    Returns:
        The LogME value, a Python float; higher = better.

    Example:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> labels = np.repeat([0, 1], 50)
    >>> separated = rng.normal(size=(100, 8)) + 3.0 * labels[:, None]
    >>> noise = rng.normal(size=(100, 8))
    >>> logme(separated, labels) > logme(noise, labels)
    True

    Reference:
        You, Liu, Wang and Long, "LogME: Practical Assessment of Pre-trained
        Models for Transfer Learning", ICML 2021,
        https://arxiv.org/abs/2102.11005
    """
    codes = _inputs.check_labels(labels)
    features = _inputs.check_features(features, len(codes))
    log_evidence, _, _ = maximise_evidence(features, _inputs.one_hot(codes))
    return float(np.mean(log_evidence) / len(features))
