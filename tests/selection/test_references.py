"""Each score against an independent computation from its paper's definition, on tiny cases."""

import math

import numpy as np
import pytest
import scipy.optimize
import sklearn.covariance
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

import keras_transfer.selection as selection
from keras_transfer.selection.hscore import ledoit_wolf_shrinkage


def tiny_problem(n=40, dim=3, classes=2, separation=1.5, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    features = rng.normal(size=(n, dim)) + separation * np.eye(classes, dim)[labels]
    return features, labels


# --- LogME -----------------------------------------------------------------------------------


def log_evidence_direct(features, y, alpha, beta):
    """log N(y; 0, F F^T / alpha + I / beta): the marginal likelihood, no SVD, no closed form."""
    n = len(y)
    covariance = features @ features.T / alpha + np.eye(n) / beta
    _, logdet = np.linalg.slogdet(covariance)
    return -0.5 * (n * math.log(2 * math.pi) + logdet + y @ np.linalg.solve(covariance, y))


def brute_force_logme(features, labels):
    """Maximise the direct evidence over (log alpha, log beta) with scipy, per class; mean / n."""
    values = []
    for c in np.unique(labels):
        y = (labels == c).astype(float)
        grid = [(a, b) for a in np.linspace(-6, 6, 13) for b in np.linspace(-3, 6, 10)]
        start = max(grid, key=lambda p: log_evidence_direct(features, y, *np.exp(p)))
        best = scipy.optimize.minimize(
            lambda p: -log_evidence_direct(features, y, *np.exp(p)), start, method="Nelder-Mead",
            options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 4000},
        )
        values.append(-best.fun)
    return float(np.mean(values) / len(features))


def fixed_point_logme(features, labels, iterations=5000):
    """You et al. 2021, Algorithm 1, written with explicit matrices (A = alpha I + beta F^T F)."""
    n, dim = features.shape
    sigma2 = np.linalg.eigvalsh(features.T @ features)
    values = []
    for c in np.unique(labels):
        y = (labels == c).astype(float)
        alpha, beta = 1.0, 1.0
        for _ in range(iterations):
            a = alpha * np.eye(dim) + beta * features.T @ features
            m = beta * np.linalg.solve(a, features.T @ y)
            gamma = np.sum(beta * sigma2 / (alpha + beta * sigma2))
            alpha, beta = gamma / (m @ m), (n - gamma) / np.sum((y - features @ m) ** 2)
        a = alpha * np.eye(dim) + beta * features.T @ features
        m = beta * np.linalg.solve(a, features.T @ y)
        evidence = (
            n / 2 * np.log(beta) + dim / 2 * np.log(alpha) - n / 2 * np.log(2 * np.pi)
            - beta / 2 * np.sum((y - features @ m) ** 2) - alpha / 2 * m @ m - 0.5 * np.linalg.slogdet(a)[1]
        )
        values.append(evidence)
    return float(np.mean(values) / n)


@pytest.mark.parametrize("seed", [0, 1])
def test_logme_is_the_maximum_of_the_direct_evidence(seed):
    features, labels = tiny_problem(n=30, dim=3, classes=3, seed=seed)
    value = selection.logme(features, labels)
    assert abs(value - brute_force_logme(features, labels)) < 1e-6
    assert abs(value - fixed_point_logme(features, labels)) < 1e-8


def test_logme_is_unchanged_by_scaling_rotating_and_padding_to_wide_features():
    """Wide features (dim > n) go through the F F^T branch: same evidence as the tall F."""
    features, labels = tiny_problem(n=20, dim=4, classes=2, seed=2)
    value = selection.logme(features, labels)
    rng = np.random.default_rng(0)
    rotation, _ = np.linalg.qr(rng.normal(size=(50, 50)))
    small_rotation, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    wide = np.concatenate([features, np.zeros((20, 46))], axis=1) @ rotation  # rank 4 in 50 dims, n = 20
    for other in (1e3 * features, features @ small_rotation, wide):
        assert abs(selection.logme(other, labels) - value) < 1e-8


def test_logme_without_signal_tends_to_the_infinitely_strong_prior():
    """All-zero features: y = noise, evidence n/2 log(n/|y|^2) - n/2 - n/2 log 2 pi per class."""
    labels = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2])
    n = len(labels)
    expected = np.mean([(n / 2 * np.log(n / k) - n / 2 - n / 2 * np.log(2 * np.pi)) / n for k in (2, 3, 4)])
    assert abs(selection.logme(np.zeros((n, 3)), labels) - expected) < 1e-9


# --- H-score ---------------------------------------------------------------------------------


def test_hscore_equals_the_hand_computation():
    features = np.array([[0.0], [2.0], [4.0], [6.0]])  # classes {0, 2} and {4, 6}
    # cov(f) = mean((f - 3)^2) = 5; E[f|y] = 1, 1, 5, 5; cov(E[f|y]) = 4.
    assert abs(selection.hscore(features, [0, 0, 1, 1], shrinkage=0.0) - 0.8) < 1e-12
    features = np.array([[0.0, 1.0], [1.0, 0.0], [3.0, 3.0], [4.0, 2.0], [2.0, 5.0], [3.0, 7.0]])
    labels = np.array([0, 0, 1, 1, 2, 2])
    f = features - features.mean(axis=0)
    g = np.array([features[labels == c].mean(axis=0) for c in labels]) - features.mean(axis=0)
    expected = np.trace(np.linalg.inv(f.T @ f / 6) @ (g.T @ g / 6))
    assert abs(selection.hscore(features, labels, shrinkage=0.0) - expected) < 1e-10


@pytest.mark.parametrize("shape", [(50, 5), (20, 40)])
def test_regularised_hscore_equals_ledoit_wolf_from_sklearn(shape):
    n, dim = shape
    rng = np.random.default_rng(4)
    labels = np.arange(n) % 3
    features = rng.normal(size=shape) * rng.uniform(0.5, 3, dim) + np.eye(3, dim)[labels]
    shrunk, shrinkage = sklearn.covariance.ledoit_wolf(features)
    assert abs(ledoit_wolf_shrinkage(features - features.mean(axis=0)) - shrinkage) < 1e-12
    means = np.array([features[labels == c].mean(axis=0) for c in labels])
    between = np.cov(means.T, bias=True)
    expected = np.trace(np.linalg.solve(shrunk, (1 - shrinkage) * between))
    assert abs(selection.hscore(features, labels) - expected) < 1e-9
    mu = np.trace(np.cov(features.T, bias=True)) / dim
    fixed = 0.3 * mu * np.eye(dim) + 0.7 * np.cov(features.T, bias=True)
    expected = np.trace(np.linalg.solve(fixed, 0.7 * between))
    assert abs(selection.hscore(features, labels, shrinkage=0.3) - expected) < 1e-9
    if n > dim:  # the pseudo-inverse form on a full-rank covariance is the inverse
        expected = np.trace(np.linalg.inv(np.cov(features.T, bias=True)) @ between)
        assert abs(selection.hscore(features, labels, shrinkage=0.0) - expected) < 1e-9


# --- TransRate -------------------------------------------------------------------------------


def transrate_direct(features, labels, eps):
    z = features - features.mean(axis=0)
    z = z / np.sqrt(np.mean(np.sum(z**2, axis=1)))
    n, d = z.shape

    def rate(x):
        return 0.5 * np.linalg.slogdet(np.eye(d) + d / (len(x) * eps**2) * x.T @ x)[1]

    return rate(z) - sum(np.mean(labels == c) * rate(z[labels == c]) for c in np.unique(labels))


@pytest.mark.parametrize(("shape", "eps"), [((30, 4), 0.1), ((30, 4), 1.0), ((12, 20), 0.3)])
def test_transrate_equals_the_coding_rate_formula(shape, eps):
    rng = np.random.default_rng(5)
    labels = np.arange(shape[0]) % 3
    features = 5.0 + rng.normal(size=shape) + np.eye(3, shape[1])[labels]
    expected = transrate_direct(features, labels, eps)
    assert abs(selection.transrate(features, labels, eps=eps) - expected) < 1e-9 * max(1.0, abs(expected))


def transrate_released_form(features, labels, eps_released):
    """The form of the authors' released code: Frobenius-scaled, centred features,
    `1/2 logdet(I + Z^T Z / (n eps))` per set, class rates averaged uniformly (1/K)."""
    z = features / np.sqrt(np.trace(features @ features.T))
    z = z - z.mean(axis=0, keepdims=True)

    def rate(x):
        return 0.5 * np.linalg.slogdet(np.eye(x.shape[1]) + x.T @ x / (len(x) * eps_released))[1]

    classes = np.unique(labels)
    return rate(z) - sum(rate(z[labels == c]) for c in classes) / len(classes)


@pytest.mark.parametrize("eps", [0.1, 0.5])
def test_transrate_matches_the_released_form_on_balanced_classes(eps):
    # Same quantity, other parametrisation: their eps is ours^2 / (d n) on features scaled to a unit
    # Frobenius norm (ours: a unit mean squared row norm); with balanced classes n_c / n = 1 / K.
    # (Centred first: the released code scales, then centres.)
    rng = np.random.default_rng(7)
    labels = np.arange(36) % 3
    features = 2.0 + rng.normal(size=(36, 6)) + 2.0 * np.eye(3, 6)[labels]
    centred = features - features.mean(axis=0)
    eps_released = eps**2 / (6 * 36)
    expected = transrate_released_form(centred, labels, eps_released)
    assert abs(selection.transrate(features, labels, eps=eps) - expected) < 1e-8 * max(1.0, abs(expected))


# --- LEEP and NCE ----------------------------------------------------------------------------


def leep_loops(probabilities, labels):
    n, z_count = probabilities.shape
    classes = sorted(set(labels))
    joint = {(y, z): sum(probabilities[i, z] for i in range(n) if labels[i] == y) / n for y in classes for z in range(z_count)}
    marginal = {z: sum(joint[y, z] for y in classes) for z in range(z_count)}
    total = 0.0
    for i in range(n):
        total += math.log(sum(joint[labels[i], z] / marginal[z] * probabilities[i, z] for z in range(z_count)))
    return total / n


def nce_entropy(probabilities, labels):
    source = [int(np.argmax(p)) for p in probabilities]
    n = len(labels)
    pairs = {}
    for y, z in zip(labels, source):
        pairs[y, z] = pairs.get((y, z), 0) + 1
    counts = {z: source.count(z) for z in set(source)}
    conditional_entropy = -sum(k / n * math.log(k / counts[z]) for (_, z), k in pairs.items())
    return -conditional_entropy


def random_probabilities(n, z_count, seed, temperature=1.0):
    logits = np.random.default_rng(seed).normal(size=(n, z_count)) / temperature
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_leep_and_nce_equal_their_definitions(seed):
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 2, 1, 0, 0, 2])
    probabilities = random_probabilities(len(labels), 5, seed, temperature=0.5)
    assert abs(selection.leep(probabilities, labels) - leep_loops(probabilities, labels)) < 1e-12
    assert abs(selection.nce(probabilities, labels) - nce_entropy(probabilities, labels)) < 1e-12


def test_leep_of_a_perfectly_predictive_head_beats_a_uniform_one():
    labels = np.array([0, 0, 1, 1, 2, 2, 2, 2])
    frequencies = np.bincount(labels) / len(labels)
    entropy = -np.sum(frequencies * np.log(frequencies))
    perfect = np.eye(3)[labels]
    uniform = np.full((8, 3), 1 / 3)
    assert selection.leep(perfect, labels) == 0.0
    assert abs(selection.leep(uniform, labels) + entropy) < 1e-12
    assert selection.nce(perfect, labels) == 0.0
    assert abs(selection.nce(uniform, labels) + entropy) < 1e-12  # argmax: every sample in source class 0


def test_leep_with_a_source_class_no_sample_predicts():
    labels = np.array([0, 0, 1, 1])
    probabilities = np.array([[0.9, 0.1, 0.0], [0.7, 0.3, 0.0], [0.2, 0.8, 0.0], [0.4, 0.6, 0.0]])
    assert abs(selection.leep(probabilities, labels) - leep_loops(probabilities[:, :2], labels)) < 1e-12


# --- kNN and linear probe --------------------------------------------------------------------


def knn_loop(features, labels, k):
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    correct = 0
    for i in range(len(unit)):
        others = [j for j in range(len(unit)) if j != i]
        ranked = sorted(others, key=lambda j: -float(unit[i] @ unit[j]))[:k]
        votes = {}
        for j in ranked:
            votes[labels[j]] = votes.get(labels[j], 0) + 1
        best = max(votes.values())
        tied = [c for c, v in votes.items() if v == best]
        predicted = max(tied, key=lambda c: sum(float(unit[i] @ unit[j]) for j in ranked if labels[j] == c))
        correct += predicted == labels[i]
    return correct / len(unit)


@pytest.mark.parametrize("k", [1, 2, 4, 7])
def test_knn_accuracy_equals_a_leave_one_out_loop(k):
    features, labels = tiny_problem(n=45, dim=4, classes=3, separation=1.0, seed=6)
    assert selection.knn_accuracy(features, labels, k=k) == knn_loop(features, labels, k)


def test_knn_accuracy_leaves_the_sample_itself_out():
    # Each point's nearest other point is of the other class: 1-NN gets all wrong.
    features = np.array([[1.0, 0.0], [1.0, 0.01], [0.0, 1.0], [0.01, 1.0]])
    assert selection.knn_accuracy(features, [0, 1, 1, 0], k=1) == 0.0
    assert selection.knn_accuracy(features, [0, 0, 1, 1], k=1) == 1.0


def test_linear_probe_accuracy_equals_standardised_logistic_regression_over_stratified_folds():
    features, labels = tiny_problem(n=60, dim=5, classes=3, separation=1.0, seed=7)
    accuracies = []
    for train, test in StratifiedKFold(n_splits=4, shuffle=True, random_state=3).split(features, labels):
        mean, std = features[train].mean(axis=0), features[train].std(axis=0)
        model = LogisticRegression(C=0.5, max_iter=1000).fit((features[train] - mean) / std, labels[train])
        accuracies.append(np.mean(model.predict((features[test] - mean) / std) == labels[test]))
    value = selection.linear_probe_accuracy(features, labels, folds=4, C=0.5, seed=3)
    assert abs(value - np.mean(accuracies)) < 1e-12
    assert value == selection.linear_probe_accuracy(features, labels, folds=4, C=0.5, seed=3)  # deterministic


def test_linear_probe_folds_are_capped_by_the_smallest_class():
    features, labels = tiny_problem(n=12, dim=2, classes=2, separation=6.0, seed=8)
    labels = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1])  # 3 samples of class 1: 3 folds at most
    features[labels == 1] += 20.0
    assert selection.linear_probe_accuracy(features, labels, folds=10) == 1.0

