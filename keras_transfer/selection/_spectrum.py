"""The spectral pieces the scores share: singular values and vectors through the smaller Gram matrix."""

import numpy as np

# Directions whose squared singular value is below this fraction of the largest
# are treated as exactly zero (rank deficiency, float round-off).
RELATIVE_CUTOFF = 1e-10


def gram_eigenvalues(x):
    """The squared singular values of `x` `(n, d)`: eigenvalues of the smaller of `x^T x`, `x x^T` (>= 0)."""
    gram = x.T @ x if x.shape[1] <= x.shape[0] else x @ x.T
    return np.clip(np.linalg.eigvalsh(gram), 0.0, None)


def spectrum(x):
    """`(s2, u)`: the nonzero squared singular values of `x` `(n, d)` and its left singular vectors `(n, k)`.

    Read from the eigendecomposition of the smaller Gram matrix, `x^T x`
    (`d <= n`) or `x x^T` (`d > n`), so a wide feature matrix costs
    `O(n^2 d)` rather than an SVD's larger constant. Directions whose squared
    singular value is below `RELATIVE_CUTOFF` of the largest are dropped.
    """
    n, dim = x.shape
    if dim <= n:
        s2, v = np.linalg.eigh(x.T @ x)
    else:
        s2, u = np.linalg.eigh(x @ x.T)
    keep = s2 > max(float(s2.max()), 0.0) * RELATIVE_CUTOFF
    s2 = s2[keep]
    u = x @ v[:, keep] / np.sqrt(s2) if dim <= n else u[:, keep]
    return s2, u
