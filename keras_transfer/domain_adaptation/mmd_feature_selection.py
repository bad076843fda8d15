"""`MMDFeatureSelection`: keep the input features whose distribution does not move between domains (fMMD)."""

import numpy as np

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.domain_adaptation._density_ratio import squared_distances
from keras_transfer.domain_adaptation._feature_transform import FeatureTransform

KERNELS = ("linear", "rbf")


def _joint_weights(n_source, n_target):
    """The `(n_s + n_t,)` signed weights `a` with `MMD² = a^T K a` (`1/n_s` on source rows, `-1/n_t` on target rows)."""
    return np.concatenate([np.full(n_source, 1.0 / n_source), np.full(n_target, -1.0 / n_target)])


def rbf_objective(joint, signs, gamma):
    """`f(w) -> (MMD², gradient)` of the Gaussian kernel `exp(-gamma * sum_k w_k (x_k - y_k)²)` on the joint rows."""
    squares = joint ** 2

    def objective(w):
        scaled = joint * np.sqrt(np.maximum(w, 0.0))
        kernel = np.exp(-gamma * squared_distances(scaled, scaled))
        a = signs[:, None] * signs[None, :] * kernel  # MMD² = sum(a)
        rows = a.sum(axis=1)
        # d sum(a) / d w_k = -gamma * sum_ij a_ij (x_ik - x_jk)² = -2 gamma (x_k² . rows - x_k . (a x_k))
        gradient = -2.0 * gamma * (squares.T @ rows - (joint * (a @ joint)).sum(axis=0))
        return float(a.sum()), gradient

    return objective


@keras_transfer_export("keras_transfer.domain_adaptation.MMDFeatureSelection")
class MMDFeatureSelection(FeatureTransform):
    """Feature selection for transfer (fMMD): drop the input features that carry the shift between domains.

    `fit(x_source, x_target)` scores the features with the weights `w >= 0`,
    `|w| <= 1`, that *maximise* the MMD² between the domains under the kernel
    that weighs feature `k` by `w_k` (Uguroglu & Carbonell 2011): a feature
    the domains differ on gets a large weight. The features whose score lies
    below the largest gap of the sorted scores (or the `n_features` lowest)
    are kept; `transform(x)` returns those columns, for either domain.

    With `kernel="linear"` the MMD² is `sum_k w_k (mean_s,k - mean_t,k)²`, so
    the maximiser is closed-form, `w` proportional to the squared mean
    differences: instant at any size. With `kernel="rbf"`
    (`exp(-gamma * sum_k w_k (x_k - y_k)²)`) the weights are found by SciPy's
    SLSQP with the exact gradient, on at most `max_samples` examples of each
    domain (the kernel matrix is quadratic in them).

    Inputs of any shape are flattened; with a `feature_extractor` its
    outputs are selected instead.

    Args:
        n_features: `"auto"` (default, as ADAPT's `fMMD(threshold="auto")`):
            keep the features below the largest gap between consecutive
            sorted scores; or an int >= 1, keep that many (the lowest scores).
        kernel: `"linear"` (default, as ADAPT) or `"rbf"`.
        gamma: the rbf width, or `None` (default) for the inverse of the
            mean squared distance between examples; only with `"rbf"`.
        max_samples: examples per domain used by the rbf solve (a random
            subset, drawn with `seed`). Defaults to `500`.
        seed: seeds that subset. Defaults to `0`.
        feature_extractor: `None` (the inputs themselves) or a Keras model
            mapping the inputs to features first.

    Example:

    >>> import numpy as np, keras_transfer
    >>> rng = np.random.default_rng(0)
    >>> x_source = rng.normal(size=(400, 4))
    >>> x_target = rng.normal(size=(300, 4)) + [0.0, 3.0, 0.0, 0.0]  # only feature 1 moves
    >>> fmmd = keras_transfer.domain_adaptation.MMDFeatureSelection()
    >>> source, target = fmmd.fit_transform(x_source, x_target)
    >>> fmmd.selected_features_.tolist(), source.shape
    ([True, False, True, True], (400, 3))

    Reference:
        Uguroglu & Carbonell, "Feature Selection for Transfer Learning",
        ECML PKDD 2011.
    """

    def __init__(self, n_features="auto", kernel="linear", gamma=None, max_samples=500, seed=0, feature_extractor=None):
        super().__init__(feature_extractor)
        if isinstance(n_features, str) and n_features != "auto":
            raise _checks.invalid("n_features", "'auto' or an integer >= 1", n_features)
        if n_features != "auto":
            n_features = _checks.check_int("n_features", n_features, minimum=1)
        self.n_features = n_features
        self.kernel = _checks.check_choice("kernel", kernel, KERNELS)
        if gamma is not None:
            if kernel != "rbf":
                raise _checks.invalid("gamma", "None with kernel='linear' (the width of the rbf kernel only)", gamma)
            gamma = _checks.check_float("gamma", gamma, minimum=0.0, exclusive_minimum=True)
        self.gamma = gamma
        self.max_samples = _checks.check_int("max_samples", max_samples, minimum=2)
        self.seed = _checks.check_int("seed", seed, minimum=0)

    def _check_sizes(self, source, target):
        if self.n_features != "auto" and self.n_features > source.shape[1]:
            raise _checks.invalid("n_features", f"at most {source.shape[1]} (the features of the inputs)",
                                  self.n_features)

    def _fit(self, source, target):
        if self.kernel == "linear":
            scores = (source.mean(axis=0) - target.mean(axis=0)) ** 2
        else:
            scores = self._rbf_scores(source, target)
        norm = np.linalg.norm(scores)
        self.scores_ = scores / norm if norm > 0 else scores
        order = np.argsort(self.scores_, kind="stable")
        if self.n_features == "auto":
            kept = int(np.argmax(np.diff(self.scores_[order]))) + 1 if len(order) > 1 else 1
        else:
            kept = self.n_features
        self.selected_features_ = np.zeros(len(order), bool)
        self.selected_features_[order[:kept]] = True

    def _rbf_scores(self, source, target):
        from scipy import optimize

        rng = np.random.default_rng(self.seed)
        pick = lambda x: x[rng.choice(len(x), self.max_samples, replace=False)] if len(x) > self.max_samples else x  # noqa: E731
        source, target = pick(source), pick(target)
        joint = np.concatenate([source, target])
        gamma = self.gamma
        if gamma is None:
            gamma = 1.0 / max(squared_distances(joint, joint).mean(), 1e-12)
        objective = rbf_objective(joint, _joint_weights(len(source), len(target)), gamma)
        negative = lambda w: tuple(-v for v in objective(w))  # noqa: E731
        d = joint.shape[1]
        result = optimize.minimize(
            negative, np.full(d, 1.0 / np.sqrt(d)), jac=True, method="SLSQP", bounds=[(0.0, None)] * d,
            constraints=[{"type": "ineq", "fun": lambda w: 1.0 - w @ w, "jac": lambda w: -2.0 * w}])
        self.gamma_ = gamma
        return np.maximum(result.x, 0.0)

    def _transform(self, x, domain):
        return x[:, self.selected_features_]
