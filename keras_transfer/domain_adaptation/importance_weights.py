"""`importance_weights`: source sample weights `w(x) ~ p_target(x) / p_source(x)` for `model.fit(..., sample_weight=w)`."""

import numpy as np

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.domain_adaptation import _density_ratio
from keras_transfer.domain_adaptation import _kmm

METHODS = ("kliep", "ulsif", "rulsif", "kmm", "nearest_neighbors", "discriminator")


def _flat(name, x, feature_extractor, batch_size, minimum=2):
    if feature_extractor is not None:
        x = feature_extractor.predict(x, batch_size=batch_size, verbose=0)
    x = np.asarray(x)
    if x.dtype.kind not in "fiu" or x.ndim < 2 or len(x) < minimum:
        what = "at least 2 numeric examples" if minimum == 2 else f"at least {minimum} numeric example(s)"
        raise _checks.invalid(name, f"an array of {what}, shape (n, ...)", f"an array of dtype {x.dtype} and shape {x.shape}")
    x = x.reshape(len(x), -1).astype("float64")
    if not np.all(np.isfinite(x)):
        raise _checks.invalid(name, "finite values", "NaN or infinite values")
    return x


def _standardise(source, target):
    """Both samples scaled by the pooled mean and standard deviation (so one kernel width fits every feature)."""
    pooled = np.concatenate([source, target])
    mean, scale = pooled.mean(axis=0), pooled.std(axis=0)
    scale[scale == 0] = 1.0
    return (source - mean) / scale, (target - mean) / scale


def _nearest_neighbors(source, target, rng):
    """Loog 2012: how many target points have each source point as their nearest source neighbour (plus one)."""
    from sklearn.neighbors import NearestNeighbors

    nearest = NearestNeighbors(n_neighbors=1).fit(source).kneighbors(target, return_distance=False)[:, 0]
    return np.bincount(nearest, minlength=len(source)).astype("float64") + 1.0, {}


def _discriminator(source, target, rng):
    """A logistic-regression domain classifier: `w = p(target | x) / p(source | x) * n_s / n_t` (C by 3-fold log loss)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    x = np.concatenate([source, target])
    domain = np.concatenate([np.zeros(len(source)), np.ones(len(target))])
    folds = StratifiedKFold(3, shuffle=True, random_state=int(rng.integers(1 << 31)))
    scores = {C: cross_val_score(LogisticRegression(C=C, max_iter=1000), x, domain, cv=folds, scoring="neg_log_loss").mean()
              for C in (0.01, 0.1, 1.0, 10.0, 100.0)}
    best = max(scores, key=scores.get)
    p = np.clip(LogisticRegression(C=best, max_iter=1000).fit(x, domain).predict_proba(source)[:, 1], 1e-6, 1 - 1e-6)
    return p / (1 - p) * len(source) / len(target), {"C": best}


@keras_transfer_export("keras_transfer.domain_adaptation.importance_weights")
def importance_weights(
    x_source, x_target, method="kliep", *, feature_extractor=None, relative=0.5, sigma=None, batch_size=256, seed=0,
    return_details=False,
):
    """Importance weights of the source examples, for `model.fit(x_s, y_s, sample_weight=w)`.

    Under covariate shift (the label given the input is the same in both
    domains, the inputs are not) training on source examples weighted by
    `w(x) = p_target(x) / p_source(x)` minimises the target risk. Each method
    estimates that ratio from the two unlabelled samples:

    - `"kliep"` (Sugiyama et al. 2008): a Gaussian-kernel model of the ratio
      fitted by maximising the target log-likelihood under the constraint
      that the weights average 1 on the source;
    - `"ulsif"` (Kanamori et al. 2009): the same model fitted by least
      squares, in closed form;
    - `"rulsif"` (Yamada et al. 2011): the *relative* ratio
      `p_t / (relative * p_t + (1 - relative) * p_s)`, bounded by
      `1 / relative`, so weights cannot explode where the source is sparse;
    - `"kmm"` (Huang et al. 2007): kernel mean matching, weights in
      `[0, 1000]` whose weighted source kernel mean matches the target's (a
      quadratic program, solved exactly here by projected gradient; sources
      above 1,000 points are solved in chunks of 1,000, as ADAPT does, so
      memory stays bounded); Gaussian kernel of width `sigma` (half the
      median pairwise distance by default, close to ADAPT's `gamma = 1 / d`
      on standardised inputs);
    - `"nearest_neighbors"` (Loog 2012): how many target points fall closest
      to each source point;
    - `"discriminator"` (as ADAPT's IWC): the odds of a logistic-regression
      domain classifier, linear in its inputs: give it a `feature_extractor`
      for shifts a linear boundary cannot separate.

    Kernel widths (and uLSIF's ridge, the classifier's regularisation) are
    chosen by cross-validation of each method's own criterion. Inputs are
    flattened and standardised with the pooled statistics; pass a
    `feature_extractor` (e.g. `model.feature_extractor` of a
    `build_classifier` model) to weight in its feature space instead of pixel
    space. The weights are normalised to a mean of 1 over the source, so the
    loss keeps its scale.

    Args:
        x_source: source inputs `(n_s, ...)`.
        x_target: unlabelled target inputs `(n_t, ...)`, same feature shape.
        method: one of `"kliep"` (default), `"ulsif"`, `"rulsif"`, `"kmm"`,
            `"nearest_neighbors"`, `"discriminator"`.
        feature_extractor: `None` (raw inputs) or a Keras model mapping the
            inputs to features first.
        relative: RuLSIF's mixing weight in [0, 1). Defaults to `0.5`.
        sigma: KMM's kernel width (on the standardised inputs), or `None`
            for half the median pairwise distance; only with `method="kmm"`.
        batch_size: batch size of `feature_extractor.predict`.
        seed: seeds the choice of kernel centres and folds. Defaults to `0`.
        return_details: also return a dict of what was chosen (`sigma`,
            `ridge`, `C`).

    Returns:
        A float32 array `(n_s,)` of non-negative weights with mean 1 (and the
        details dict when `return_details`).

    Example:

    >>> import numpy as np, keras_transfer
    >>> rng = np.random.default_rng(0)
    >>> source, target = rng.normal(0, 1, (200, 1)), rng.normal(1, 0.5, (200, 1))
    >>> w = keras_transfer.domain_adaptation.importance_weights(source, target, "ulsif")
    >>> round(float(w.mean()), 6), bool(w[source[:, 0] > 1].mean() > w[source[:, 0] < -1].mean())
    (1.0, True)
    """
    _checks.check_choice("method", method, METHODS)
    relative = _checks.check_float("relative", relative, minimum=0.0, maximum=1.0)
    if relative >= 1.0:
        raise _checks.invalid("relative", "a float in [0, 1)", relative)
    if sigma is not None:
        if method != "kmm":
            raise _checks.invalid("sigma", "None unless method='kmm' (the other methods choose their kernel width by "
                                  "cross-validation)", sigma)
        sigma = _checks.check_float("sigma", sigma, minimum=0.0, exclusive_minimum=True)
    _checks.check_int("batch_size", batch_size, minimum=1)
    _checks.check_int("seed", seed, minimum=0)
    if feature_extractor is not None and not hasattr(feature_extractor, "predict"):
        raise _checks.invalid("feature_extractor", "None or a Keras model", feature_extractor, error=TypeError)
    source = _flat("x_source", x_source, feature_extractor, batch_size)
    target = _flat("x_target", x_target, feature_extractor, batch_size)
    if source.shape[1] != target.shape[1]:
        raise _checks.invalid("x_target", f"{source.shape[1]} features per example, as x_source", f"{target.shape[1]} features")
    source, target = _standardise(source, target)
    rng = np.random.default_rng(seed)
    estimators = {
        "kliep": _density_ratio.kliep,
        "ulsif": _density_ratio.lsif,
        "rulsif": lambda s, t, r: _density_ratio.lsif(s, t, r, relative=relative),
        "kmm": lambda s, t, r: _kmm.kmm(s, t, r, sigma=sigma),
        "nearest_neighbors": _nearest_neighbors,
        "discriminator": _discriminator,
    }
    weights, details = estimators[method](source, target, rng)
    weights = np.maximum(np.asarray(weights, "float64"), 0.0)
    total = weights.mean()
    weights = weights / total if total > 0 else np.ones_like(weights)
    weights = weights.astype("float32")
    return (weights, details) if return_details else weights
