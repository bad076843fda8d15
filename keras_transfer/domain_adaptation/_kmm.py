"""Kernel mean matching (Huang et al. 2007): source weights whose weighted kernel mean matches the target's.

The weights `b` minimise `1/2 b^T K b - kappa^T b` (the squared RKHS distance
between the weighted source mean and the target mean, up to a constant)
under `0 <= b_i <= bound` and `|sum(b) - n| <= n * eps`, with `K` the Gaussian
kernel of the source points and `kappa_i = n / n_t * sum_j k(x_i, t_j)`.
That quadratic program is solved here by accelerated projected gradient
(FISTA), the projection onto the box and the sum slab being exact (a
bisection on the sum's multiplier): NumPy only, no QP solver. Sources larger
than `MAX_SIZE` are solved in chunks of at most that many points (each
against the whole target sample), so memory stays `O(MAX_SIZE^2)`: the same
split ADAPT makes (`max_size=1000`).
"""

import numpy as np

from keras_transfer.domain_adaptation._density_ratio import gaussian, width_grid

MAX_SIZE = 1000
BOUND = 1000.0
TARGET_BLOCK = 4096


def project(v, upper, low_sum, high_sum):
    """The Euclidean projection of `v` onto `{0 <= b <= upper, low_sum <= sum(b) <= high_sum}`."""
    b = np.clip(v, 0.0, upper)
    total = b.sum()
    if low_sum <= total <= high_sum:
        return b
    goal = high_sum if total > high_sum else low_sum
    low, high = v.min() - upper, v.max()  # sum(clip(v - lam)) falls from n * upper to 0 over this bracket
    for _ in range(100):
        middle = 0.5 * (low + high)
        if np.clip(v - middle, 0.0, upper).sum() > goal:
            low = middle
        else:
            high = middle
    return np.clip(v - 0.5 * (low + high), 0.0, upper)


def solve(kernel, kappa, bound, eps, iterations=3000, tolerance=1e-9):
    """FISTA on the KMM quadratic program; returns the weights `b`."""
    n = len(kappa)
    low_sum, high_sum = n * (1.0 - eps), n * (1.0 + eps)
    step = 1.0 / max(float(np.linalg.eigvalsh(kernel)[-1]), 1e-12)
    b = project(np.ones(n), bound, low_sum, high_sum)
    y, t = b.copy(), 1.0
    for _ in range(iterations):
        following = project(y - step * (kernel @ y - kappa), bound, low_sum, high_sum)
        t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        y = following + (t - 1.0) / t_next * (following - b)
        change = np.abs(following - b).max()
        b, t = following, t_next
        if change <= tolerance * max(1.0, np.abs(b).max()):
            break
    return b


def kmm(source, target, rng, sigma=None, bound=BOUND, eps=None):
    """`(weights, details)` of kernel mean matching, chunked above `MAX_SIZE` source points."""
    # Default: half the median distance (on standardised inputs about ADAPT's gamma = 1 / d; better than the median
    # itself on both ADAPT parity pairs, benchmarks/results/adapt_parity_kmm.md).
    sigma = float(width_grid(source, target)[1]) if sigma is None else float(sigma)
    order = rng.permutation(len(source))
    chunks = [order[i:i + MAX_SIZE] for i in range(0, len(order), MAX_SIZE)]
    weights = np.empty(len(source))
    for chunk in chunks:
        points, n = source[chunk], len(chunk)
        chunk_eps = (np.sqrt(n) - 1.0) / np.sqrt(n) if eps is None else eps
        kappa = sum(gaussian(points, target[i:i + TARGET_BLOCK], sigma).sum(axis=1)
                    for i in range(0, len(target), TARGET_BLOCK)) * (n / len(target))
        weights[chunk] = solve(gaussian(points, points, sigma), kappa, bound, chunk_eps)
    return weights, {"sigma": sigma, "chunks": len(chunks)}
