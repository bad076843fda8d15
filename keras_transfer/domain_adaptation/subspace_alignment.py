"""`SubspaceAlignment`: the source PCA basis mapped onto the target PCA basis."""

import numpy as np

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.domain_adaptation._feature_transform import FeatureTransform


def _principal_axes(x, k):
    """`(mean, axes (d, k))`: the first `k` principal axes of the rows of `x`, each signed so its largest entry is > 0.

    Exact: the eigenvectors of the `d x d` scatter matrix when there are at
    least as many examples as features (much faster than an SVD of the data
    then), else the right singular vectors of the centred data.
    """
    from scipy import linalg

    mean = x.mean(axis=0)
    centred = x - mean
    if len(x) >= x.shape[1]:
        values, vectors = linalg.eigh(centred.T @ centred)
        axes = vectors[:, np.argsort(values)[::-1][:k]]
    else:
        axes = linalg.svd(centred, full_matrices=False)[2][:k].T
    largest = axes[np.argmax(np.abs(axes), axis=0), np.arange(axes.shape[1])]
    return mean, axes * np.where(largest < 0, -1.0, 1.0)


@keras_transfer_export("keras_transfer.domain_adaptation.SubspaceAlignment")
class SubspaceAlignment(FeatureTransform):
    """Subspace alignment: project each domain on its own PCA basis, then align the source basis to the target's.

    `fit(x_source, x_target)` takes the first `n_components` principal axes
    `P_s` of the source and `P_t` of the target (each domain centred on its
    own mean) and the alignment `M = P_s^T P_t`;
    `transform(x, "source") = (x - mean_s) @ P_s @ M` and
    `transform(x, "target") = (x - mean_t) @ P_t`. Train any classifier on
    the transformed source features and their labels, predict on the
    transformed target features. No target labels needed.

    Inputs of any shape are flattened; with a `feature_extractor` its
    outputs are transformed instead. The principal axes are exact (SciPy's
    `eigh` of the scatter matrix, or an SVD with fewer examples than
    features).

    Args:
        n_components: int >= 1, the subspace dimension (at most the number
            of features and of examples of each domain), or `None` for all
            of them. Defaults to `None` (as ADAPT's `SA`); the paper picks it
            from a stability bound, here pick it on validation data.
        feature_extractor: `None` (the inputs themselves) or a Keras model
            mapping the inputs to features first.

    Example:

    >>> import numpy as np, keras_transfer
    >>> rng = np.random.default_rng(0)
    >>> x_source = rng.normal(size=(300, 3)) * [3.0, 1.0, 0.1]
    >>> x_target = rng.normal(size=(200, 3)) * [1.0, 3.0, 0.1] + 5.0  # other main axis, shifted
    >>> sa = keras_transfer.domain_adaptation.SubspaceAlignment(n_components=2)
    >>> source, target = sa.fit_transform(x_source, x_target)
    >>> source.shape, target.shape
    ((300, 2), (200, 2))
    >>> bool(np.allclose(sa.alignment_, sa.source_axes_.T @ sa.target_axes_))  # M = P_s^T P_t
    True
    >>> same, _ = sa.fit_transform(x_source, x_source + 5.0)  # a pure shift: the same coordinates
    >>> bool(np.allclose(same, sa.transform(x_source + 5.0, "target")))
    True

    Reference:
        Fernando et al., "Unsupervised Visual Domain Adaptation Using
        Subspace Alignment", ICCV 2013.
    """

    def __init__(self, n_components=None, feature_extractor=None):
        super().__init__(feature_extractor)
        if n_components is not None:
            n_components = _checks.check_int("n_components", n_components, minimum=1)
        self.n_components = n_components

    def _check_sizes(self, source, target):
        largest = min(source.shape[1], len(source), len(target))
        if self.n_components is not None and self.n_components > largest:
            raise _checks.invalid("n_components", f"at most {largest} (the features and the examples of each domain)",
                                  self.n_components)

    def _fit(self, source, target):
        k = self.n_components or min(source.shape[1], len(source), len(target))
        self.source_mean_, self.source_axes_ = _principal_axes(source, k)
        self.target_mean_, self.target_axes_ = _principal_axes(target, k)
        self.alignment_ = self.source_axes_.T @ self.target_axes_
        # One (d, k) map and offset per domain: x @ map - offset.
        source_map = self.source_axes_ @ self.alignment_
        self._maps = {"source": (source_map, self.source_mean_ @ source_map),
                      "target": (self.target_axes_, self.target_mean_ @ self.target_axes_)}

    def _transform(self, x, domain):
        projection, offset = self._maps[domain]
        return x @ projection - offset
