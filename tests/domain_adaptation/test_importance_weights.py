"""Importance weights `p_target / p_source` of source examples: against the true ratio, references, and their use."""

import keras
import numpy as np
import pytest
from scipy.stats import norm, pearsonr

import keras_transfer as kt
from keras_transfer.domain_adaptation import _density_ratio, _kmm

iw = kt.domain_adaptation.importance_weights
RNG = np.random.default_rng(0)
SOURCE = RNG.normal(0, 1, (400, 1))
TARGET = RNG.normal(0.7, 0.6, (300, 1))


def true_ratio(x, relative=0.0):
    p_t, p_s = norm.pdf(x, 0.7, 0.6), norm.pdf(x, 0, 1)
    ratio = p_t / (relative * p_t + (1 - relative) * p_s)
    return ratio / ratio.mean()


@pytest.mark.parametrize(("method", "relative", "minimum"), [
    ("kliep", 0.0, 0.95), ("ulsif", 0.0, 0.95), ("rulsif", 0.5, 0.95), ("kmm", 0.0, 0.9), ("nearest_neighbors", 0.0, 0.3),
])
def test_weights_follow_the_true_density_ratio(method, relative, minimum):
    weights = iw(SOURCE, TARGET, method, relative=relative or 0.5)
    assert weights.shape == (400,) and weights.dtype == np.float32
    assert weights.min() >= 0 and weights.mean() == pytest.approx(1.0, abs=1e-5)
    assert pearsonr(weights, true_ratio(SOURCE[:, 0], relative))[0] > minimum


def test_the_discriminator_is_exact_when_the_log_ratio_is_linear():
    source, target = RNG.normal(0, 1, (500, 2)), RNG.normal([1.0, 0.0], 1, (500, 2))
    truth = np.exp(source[:, 0] - 0.5)  # N(1, 1) / N(0, 1) along the first axis
    weights, details = iw(source, target, "discriminator", return_details=True)
    assert pearsonr(weights, truth / truth.mean())[0] > 0.95 and "C" in details


def test_lsif_fit_is_the_regularised_least_squares_solution():
    rng = np.random.default_rng(1)
    k_source, k_target = rng.uniform(size=(30, 5)), rng.uniform(size=(20, 5))
    # Minimise 1/2 a^T H a - h^T a + ridge/2 |a|^2, written as a normal equation solved by lstsq.
    h_matrix = k_source.T @ k_source / 30
    expected = np.linalg.lstsq(h_matrix + 0.1 * np.eye(5), k_target.mean(0), rcond=None)[0]
    np.testing.assert_allclose(_density_ratio.lsif_fit(k_source, k_target, 0.1, 0.0), expected, rtol=1e-8)
    relative = 0.5 * k_target.T @ k_target / 20 + 0.5 * h_matrix
    expected = np.linalg.lstsq(relative + 0.1 * np.eye(5), k_target.mean(0), rcond=None)[0]
    np.testing.assert_allclose(_density_ratio.lsif_fit(k_source, k_target, 0.1, 0.5), expected, rtol=1e-8)


def test_kliep_keeps_its_constraint_and_beats_uniform_weights():
    centers = TARGET[:50]
    k_source, k_target = _density_ratio.gaussian(SOURCE, centers, 0.5), _density_ratio.gaussian(TARGET, centers, 0.5)
    alpha = _density_ratio.kliep_fit(k_source, k_target)
    assert alpha.min() >= 0
    assert (k_source @ alpha).mean() == pytest.approx(1.0, rel=1e-9)
    # The same constrained maximum found by a general solver (SLSQP), written independently.
    from scipy.optimize import minimize

    b = k_source.mean(axis=0)
    reference = minimize(
        lambda a: -np.mean(np.log(k_target @ a + 1e-12)), np.ones(50) / (b @ np.ones(50)), method="SLSQP",
        bounds=[(0, None)] * 50, constraints=[{"type": "eq", "fun": lambda a: b @ a - 1.0}], options={"maxiter": 500},
    )
    ours = np.mean(np.log(k_target @ alpha))
    assert ours >= -reference.fun - 1e-3
    uniform = np.ones(50) / (b @ np.ones(50))
    assert ours > np.mean(np.log(k_target @ uniform))


def test_kmm_solves_its_quadratic_program(monkeypatch):
    """Against a general solver (SLSQP, written independently) on a small case, and the chunking."""
    from scipy.optimize import minimize

    rng = np.random.default_rng(3)
    source, target = rng.normal(0, 1, (40, 2)), rng.normal(0.5, 0.7, (30, 2))
    kernel = _density_ratio.gaussian(source, source, 1.0)
    kappa = _density_ratio.gaussian(source, target, 1.0).sum(1) * 40 / 30
    eps, bound = (np.sqrt(40) - 1) / np.sqrt(40), 1000.0
    ours = _kmm.solve(kernel, kappa, bound, eps)
    objective = lambda b: 0.5 * b @ kernel @ b - kappa @ b
    reference = minimize(objective, np.ones(40), jac=lambda b: kernel @ b - kappa, method="SLSQP",
                         bounds=[(0, bound)] * 40, options={"maxiter": 1000, "ftol": 1e-12},
                         constraints=[{"type": "ineq", "fun": lambda b: 40 * eps - abs(b.sum() - 40)}])
    assert ours.min() >= 0 and abs(ours.sum() - 40) <= 40 * eps + 1e-6
    assert objective(ours) <= reference.fun + 1e-4 * abs(reference.fun)
    projected = _kmm.project(np.array([3.0, -1.0, 0.5, 2.0]), 1.5, 0.0, 2.0)
    np.testing.assert_allclose(projected.sum(), 2.0, rtol=1e-9)  # the sum bound binds
    assert projected.min() >= 0 and projected.max() <= 1.5
    monkeypatch.setattr(_kmm, "MAX_SIZE", 250)  # chunks as above 1,000 points, at a test's size
    big = RNG.normal(0, 1, (700, 1))
    weights, details = iw(big, TARGET, "kmm", sigma=0.5, return_details=True)
    assert details == {"sigma": 0.5, "chunks": 3} and weights.shape == (700,)
    assert pearsonr(weights, true_ratio(big[:, 0]))[0] > 0.85


def test_weighted_least_squares_fits_the_target_region_better():
    # Shimodaira's covariate shift: a line fitted to sinc on the source region misses the target's.
    rng = np.random.default_rng(2)
    x_source, x_target = rng.normal(1.0, 0.5, 300), rng.normal(2.0, 0.3, 300)
    y_source = np.sinc(x_source) + rng.normal(0, 0.05, 300)
    weights = iw(x_source[:, None], x_target[:, None], "kliep")
    errors = {}
    for name, w in (("plain", np.ones(300)), ("weighted", weights)):
        line = np.polyfit(x_source, y_source, 1, w=np.sqrt(w))
        errors[name] = np.mean((np.polyval(line, x_target) - np.sinc(x_target)) ** 2)
    assert errors["weighted"] < 0.5 * errors["plain"]


def test_weights_in_a_feature_space_go_to_model_fit():
    images_s = RNG.uniform(0, 255, (40, 8, 8, 1)).astype("float32")
    images_t = RNG.uniform(100, 255, (30, 8, 8, 1)).astype("float32")
    extractor = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.GlobalAveragePooling2D()])
    weights = iw(images_s, images_t, "ulsif", feature_extractor=extractor)
    brighter = images_s.mean(axis=(1, 2, 3)) > np.median(images_s.mean(axis=(1, 2, 3)))
    assert weights[brighter].mean() > weights[~brighter].mean()
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(images_s, np.arange(40) % 2, sample_weight=weights, epochs=1, verbose=0)


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="`method`"):
        iw(SOURCE, TARGET, "kmm2")
    with pytest.raises(ValueError, match="`sigma`.*method='kmm'"):
        iw(SOURCE, TARGET, "kliep", sigma=1.0)
    with pytest.raises(ValueError, match="`sigma`"):
        iw(SOURCE, TARGET, "kmm", sigma=0.0)
    with pytest.raises(ValueError, match="`x_target`.*1 features"):
        iw(SOURCE, RNG.normal(size=(10, 2)))
    with pytest.raises(ValueError, match="`x_source`.*at least 2"):
        iw(SOURCE[:1], TARGET)
    with pytest.raises(ValueError, match="`x_target`.*finite"):
        iw(SOURCE, np.full((5, 1), np.nan))
    with pytest.raises(ValueError, match="`relative`"):
        iw(SOURCE, TARGET, "rulsif", relative=1.0)
    with pytest.raises(TypeError, match="`feature_extractor`"):
        iw(SOURCE, TARGET, feature_extractor="vgg16")
