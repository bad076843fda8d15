"""Kernel density-ratio estimators `w(x) = p_target(x) / p_source(x)`: KLIEP, uLSIF, RuLSIF.

All three model the ratio as `w(x) = sum_l alpha_l k(x, c_l)` with Gaussian
kernels on `centers` drawn from the target sample, and pick the kernel width
(and uLSIF's ridge) by cross-validation of their own criterion on held-out
folds, as their papers do. NumPy only; float64 throughout.
"""

import numpy as np

MAX_CENTERS = 100
FOLDS = 5


def squared_distances(a, b):
    distances = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(distances, 0.0)


def gaussian(a, centers, sigma):
    return np.exp(-squared_distances(a, centers) / (2.0 * sigma**2))


def width_grid(source, target):
    """Kernel widths around the median distance between the pooled points (the median heuristic), x 1/4 .. 4."""
    pooled = np.concatenate([source, target])[:500]
    median = np.sqrt(np.median(squared_distances(pooled, pooled)[np.triu_indices(len(pooled), 1)]))
    median = median if median > 0 else 1.0
    return median * np.array([0.25, 0.5, 1.0, 2.0, 4.0])


def pick_centers(target, rng, count=MAX_CENTERS):
    return target[rng.choice(len(target), min(count, len(target)), replace=False)]


def _folds(n, rng):
    order = rng.permutation(n)
    return [order[i::FOLDS] for i in range(min(FOLDS, n))]


# --- KLIEP (Sugiyama et al. 2008) --------------------------------------------------------------


def kliep_fit(k_source, k_target, iterations=3000, tolerance=1e-12):
    """`alpha` maximising `mean_t log(K_t alpha)` subject to `mean_s K_s alpha = 1`, `alpha >= 0`.

    With `beta_l = alpha_l * b_l` (`b` the source mean of each kernel) the
    constraint is the probability simplex and the objective the
    log-likelihood of a mixture with components `K_tl / b_l`, so the EM
    update of mixture weights (`beta <- beta * mean_t(share of l)`) climbs
    to the global maximum of this concave problem, staying feasible.
    """
    b = np.maximum(k_source.mean(axis=0), 1e-300)
    components = k_target / b
    beta = np.full(len(b), 1.0 / len(b))
    previous = -np.inf
    for _ in range(iterations):
        mixture = np.maximum(components @ beta, 1e-300)
        value = np.mean(np.log(mixture))
        if value - previous < tolerance:
            break
        previous = value
        beta = beta * (components / mixture[:, None]).mean(axis=0)
    return beta / b


def kliep(source, target, rng):
    """KLIEP weights of the source points, the width chosen by held-out target log-likelihood."""
    centers = pick_centers(target, rng)
    best, best_score = None, -np.inf
    for sigma in width_grid(source, target):
        k_source = gaussian(source, centers, sigma)
        scores = []
        for fold in _folds(len(target), rng):
            train = np.setdiff1d(np.arange(len(target)), fold)
            alpha = kliep_fit(k_source, gaussian(target[train], centers, sigma), iterations=300)
            scores.append(np.mean(np.log(gaussian(target[fold], centers, sigma) @ alpha + 1e-300)))
        if np.mean(scores) > best_score:
            best, best_score = sigma, np.mean(scores)
    alpha = kliep_fit(gaussian(source, centers, best), gaussian(target, centers, best))
    return gaussian(source, centers, best) @ alpha, {"sigma": float(best)}


# --- uLSIF (Kanamori et al. 2009) and RuLSIF (Yamada et al. 2011) ------------------------------


def lsif_fit(k_source, k_target, ridge, relative):
    """`alpha = (H + ridge I)^-1 h`, `H` the (relative) second moment of the kernel features, `h` the target mean."""
    h_matrix = (1.0 - relative) * k_source.T @ k_source / len(k_source)
    if relative:
        h_matrix = h_matrix + relative * k_target.T @ k_target / len(k_target)
    h = k_target.mean(axis=0)
    return np.linalg.solve(h_matrix + ridge * np.eye(len(h)), h)


def _lsif_loss(alpha, k_source, k_target, relative):
    """The squared-loss criterion on held-out points: `1/2 E_mix[w^2] - E_t[w]` (lower = better)."""
    mixed = (1.0 - relative) * np.mean((k_source @ alpha) ** 2) + relative * np.mean((k_target @ alpha) ** 2)
    return 0.5 * mixed - np.mean(k_target @ alpha)


def lsif(source, target, rng, relative=0.0):
    """uLSIF (`relative=0`) or RuLSIF weights: `max(0, K_s alpha)`, width and ridge by 5-fold cross-validation."""
    centers = pick_centers(target, rng)
    source_folds, target_folds = _folds(len(source), rng), _folds(len(target), rng)
    best, best_loss = None, np.inf
    for sigma in width_grid(source, target):
        k_source, k_target = gaussian(source, centers, sigma), gaussian(target, centers, sigma)
        for ridge in (1e-3, 1e-2, 1e-1, 1.0):
            losses = []
            for s_fold, t_fold in zip(source_folds, target_folds):
                s_train, t_train = np.setdiff1d(np.arange(len(source)), s_fold), np.setdiff1d(np.arange(len(target)), t_fold)
                alpha = lsif_fit(k_source[s_train], k_target[t_train], ridge, relative)
                losses.append(_lsif_loss(alpha, k_source[s_fold], k_target[t_fold], relative))
            if np.mean(losses) < best_loss:
                best, best_loss = (sigma, ridge), np.mean(losses)
    sigma, ridge = best
    alpha = lsif_fit(gaussian(source, centers, sigma), gaussian(target, centers, sigma), ridge, relative)
    return np.maximum(gaussian(source, centers, sigma) @ alpha, 0.0), {"sigma": float(sigma), "ridge": float(ridge)}
