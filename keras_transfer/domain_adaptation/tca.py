"""`TCA`: transfer component analysis, a kernel embedding that brings the two domains' means together."""

import numpy as np

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.domain_adaptation._feature_transform import FeatureTransform

KERNELS = ("rbf", "linear")
MAX_SAMPLES = 5000  # n_s + n_t: the (n x n) kernel and its eigenproblem are held in memory, O(n³) time


@keras_transfer_export("keras_transfer.domain_adaptation.TCA")
class TCA(FeatureTransform):
    """Transfer component analysis: a kernel embedding where the domains' means meet and the variance stays.

    `fit(x_source, x_target)` builds the kernel matrix `K` of all `n_s + n_t`
    examples, the MMD matrix `L` (`1/n_s²` within the source, `1/n_t²`
    within the target, `-1/(n_s n_t)` across) and the centring matrix `H`,
    and solves the paper's problem: the `n_components` leading
    eigenvectors `W` of `(K L K + mu I)^(-1) K H K` (a symmetric
    generalised eigenproblem, SciPy's `eigh`), which keep the embedded
    variance (`W^T K H K W`) while the distance between the embedded domain
    means (`W^T K L K W`) stays small. `transform(x, domain) = k(x, X) @ W`
    with `X` the fitted examples (the same map for both domains). Train any
    classifier on the transformed source features and predict on the
    transformed target ones. No target labels needed.

    Memory and time grow as `(n_s + n_t)²` and `(n_s + n_t)³`: above 5,000
    examples in all, `fit` refuses (subsample first). Inputs of any shape are
    flattened; with a `feature_extractor` its outputs are used instead.

    Args:
        n_components: int >= 1, the embedding dimension. Defaults to `20`.
        mu: float > 0, the weight of `trace(W^T W)` against the mean
            distance: larger keeps more variance, smaller aligns harder.
            Defaults to `1.0`. ADAPT's `TCA(mu=m)` solves
            `(I + m K L K)^(-1) K H K`, our `mu=1/m`.
        kernel: `"rbf"` (`exp(-gamma |x - x'|²)`) or `"linear"`. Defaults to
            `"rbf"`.
        gamma: float > 0, the RBF width, or `None` for `1 / n_features` (as
            scikit-learn and ADAPT). Defaults to `None`.
        feature_extractor: `None` (the inputs themselves) or a Keras model
            mapping the inputs to features first.

    Example:

    >>> import numpy as np, keras_transfer
    >>> rng = np.random.default_rng(0)
    >>> x_source, x_target = rng.normal(size=(60, 3)), rng.normal(size=(50, 3)) + [1.5, 0.0, 0.0]
    >>> tca = keras_transfer.domain_adaptation.TCA(n_components=2, mu=0.1, kernel="linear")
    >>> source, target = tca.fit_transform(x_source, x_target)
    >>> source.shape, target.shape
    ((60, 2), (50, 2))
    >>> gap = lambda a, b: float(np.linalg.norm(a.mean(0) - b.mean(0)) / np.sqrt(np.var(np.r_[a, b], 0).sum()))
    >>> gap(source, target) < 0.2 * gap(x_source[:, :2], x_target[:, :2])  # the means come together
    True

    Reference:
        Pan et al., "Domain Adaptation via Transfer Component Analysis",
        IEEE Transactions on Neural Networks 22(2), 2011.
    """

    def __init__(self, n_components=20, mu=1.0, kernel="rbf", gamma=None, feature_extractor=None):
        super().__init__(feature_extractor)
        self.n_components = _checks.check_int("n_components", n_components, minimum=1)
        self.mu = _checks.check_float("mu", mu, minimum=0.0, exclusive_minimum=True)
        self.kernel = _checks.check_choice("kernel", kernel, KERNELS)
        if gamma is not None:
            gamma = _checks.check_float("gamma", gamma, minimum=0.0, exclusive_minimum=True)
        self.gamma = gamma

    def _check_sizes(self, source, target):
        n = len(source) + len(target)
        if n > MAX_SAMPLES:
            raise _checks.invalid("x_source", f"at most {MAX_SAMPLES:,} source and target examples in all (TCA holds "
                                  "n x n kernel matrices and solves an n x n eigenproblem)",
                                  f"{len(source)} + {len(target)} examples", hint="Subsample both domains first.")
        if self.n_components > n:
            raise _checks.invalid("n_components", f"at most the {n} examples fitted", self.n_components)

    def _kernel(self, a, b):
        from sklearn.metrics.pairwise import linear_kernel, rbf_kernel

        if self.kernel == "linear":
            return linear_kernel(a, b)
        return rbf_kernel(a, b, gamma=self.gamma)

    def _fit(self, source, target):
        from scipy import linalg

        n_s, n_t = len(source), len(target)
        self.examples_ = np.concatenate([source, target])
        n = n_s + n_t
        kernel = self._kernel(self.examples_, self.examples_)
        e = np.concatenate([np.full(n_s, 1.0 / n_s), np.full(n_t, -1.0 / n_t)])
        kle = kernel @ e  # K L K = (K e)(K e)^T with L = e e^T
        centred = kernel - kernel.mean(axis=0, keepdims=True)  # H K
        spread = centred.T @ centred  # K H K (H is idempotent)
        closeness = np.outer(kle, kle) + self.mu * np.eye(n)
        values, vectors = linalg.eigh(spread, closeness, subset_by_index=[n - self.n_components, n - 1])
        order = np.argsort(values)[::-1]
        self.eigenvalues_, self.components_ = values[order], vectors[:, order]

    def _transform(self, x, domain):
        return self._kernel(x, self.examples_) @ self.components_
