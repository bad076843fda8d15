"""`MMDFeatureSelection` (fMMD): scores against closed forms and finite differences, the effect, ADAPT's twin."""

import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.domain_adaptation import mmd_feature_selection as fmmd
from tests.test_case import TestCase

DA = kt.domain_adaptation


def shifted(seed=0, n=300):
    """Four features; the target moves feature 1's mean by 3 and multiplies feature 2's spread by 4."""
    rng = np.random.default_rng(seed)
    source = rng.normal(size=(n, 4))
    target = rng.normal(size=(n, 4)) * [1.0, 1.0, 4.0, 1.0] + [0.0, 3.0, 0.0, 0.0]
    return source, target


class TestScores(TestCase):
    def test_linear_scores_are_the_normalised_squared_mean_differences(self):
        source, target = shifted()
        selector = DA.MMDFeatureSelection().fit(source, target)
        expected = (source.mean(0) - target.mean(0)) ** 2
        self.assertAllClose(selector.scores_, expected / np.linalg.norm(expected), atol=1e-12)
        # the linear kernel sees means only: feature 2 (same mean, 4x the spread) is kept
        self.assertAllEqual(selector.selected_features_, [True, False, True, True])
        self.assertAllClose(selector.transform(target), target[:, [0, 2, 3]])

    def test_rbf_gradient_matches_finite_differences(self):
        rng = np.random.default_rng(1)
        joint = rng.normal(size=(30, 3))
        objective = fmmd.rbf_objective(joint, fmmd._joint_weights(12, 18), gamma=0.3)
        w = np.array([0.2, 0.5, 0.7])
        value, gradient = objective(w)
        numeric = [(objective(w + e)[0] - objective(w - e)[0]) / 2e-6 for e in np.eye(3) * 1e-6]
        self.assertAllClose(gradient, numeric, atol=1e-6, rtol=1e-5)
        # and the value is the biased MMD² of the weighted Gaussian kernel, written out
        s, t = joint[:12] * np.sqrt(w), joint[12:] * np.sqrt(w)
        k = lambda a, b: np.exp(-0.3 * ((a[:, None] - b[None]) ** 2).sum(-1))  # noqa: E731
        self.assertAllClose(value, k(s, s).mean() + k(t, t).mean() - 2 * k(s, t).mean(), atol=1e-12)

    def test_rbf_also_finds_a_change_of_spread(self):
        source, target = shifted()
        target[:, 1] -= 3.0  # only feature 2's spread differs now: equal means, invisible to the linear kernel
        linear = DA.MMDFeatureSelection().fit(source, target)
        selector = DA.MMDFeatureSelection(kernel="rbf").fit(source, target)
        assert np.linalg.norm(selector.scores_) == pytest.approx(1.0, abs=1e-6)
        assert np.argmax(selector.scores_) == 2 and selector.scores_[2] > 0.9, selector.scores_
        self.assertAllEqual(selector.selected_features_, [True, True, False, True])
        assert np.argmax(linear.scores_) != 2
        assert selector.gamma_ > 0

    def test_a_fixed_number_of_features_and_subsampling(self):
        source, target = shifted()
        assert DA.MMDFeatureSelection(n_features=3).fit(source, target).selected_features_.tolist() == [
            True, False, True, True]
        small = DA.MMDFeatureSelection(kernel="rbf", max_samples=50, seed=3).fit(source, target)
        assert not small.selected_features_[1]


class TestEffect(TestCase):
    def test_dropping_a_shifted_shortcut_feature_helps_on_the_target(self):
        from sklearn.linear_model import LogisticRegression

        rng = np.random.default_rng(0)
        y_s, y_t = rng.integers(0, 2, 600), rng.integers(0, 2, 600)
        # feature 0: a weak but stable signal; feature 1: a strong signal on the source, offset on the target
        x_s = np.c_[y_s + rng.normal(0, 0.8, 600), y_s + rng.normal(0, 0.1, 600), rng.normal(size=(600, 2))]
        x_t = np.c_[y_t + rng.normal(0, 0.8, 600), y_t + 1.5 + rng.normal(0, 0.1, 600), rng.normal(size=(600, 2))]
        selector = DA.MMDFeatureSelection()
        source, target = selector.fit_transform(x_s, x_t)
        assert not selector.selected_features_[1]
        plain = LogisticRegression().fit(x_s, y_s).score(x_t, y_t)
        selected = LogisticRegression().fit(source, y_s).score(target, y_t)
        assert plain < 0.6 and selected > 0.65, (plain, selected)


class TestArguments(TestCase):
    def test_bad_arguments_are_named(self):
        with pytest.raises(ValueError, match=r"`n_features`.*at most 4.*Received: n_features=5"):
            DA.MMDFeatureSelection(n_features=5).fit(*shifted())
        with pytest.raises(ValueError, match=r"`n_features`.*'auto' or an integer >= 1.*Received: n_features='all'"):
            DA.MMDFeatureSelection(n_features="all")
        with pytest.raises(ValueError, match=r"`kernel`.*'linear', 'rbf'.*Received: kernel='poly'"):
            DA.MMDFeatureSelection(kernel="poly")
        with pytest.raises(ValueError, match=r"`gamma`.*None with kernel='linear'"):
            DA.MMDFeatureSelection(gamma=1.0)
        with pytest.raises(ValueError, match=r"`gamma`.*> 0"):
            DA.MMDFeatureSelection(kernel="rbf", gamma=0.0)
        with pytest.raises(ValueError, match=r"`max_samples`.*>= 2"):
            DA.MMDFeatureSelection(max_samples=1)
        assert repr(DA.MMDFeatureSelection(kernel="rbf")) == "MMDFeatureSelection(kernel='rbf')"


class TestAgainstADAPT(TestCase):
    def test_the_same_features_as_adapts_fmmd_linear(self):
        adapt = pytest.importorskip("adapt.feature_based")
        source, target = shifted(n=120)
        theirs = adapt.fMMD(Xt=target, kernel="linear", verbose=0, random_state=0)
        theirs.fit_transform(source, target)
        ours = DA.MMDFeatureSelection().fit(source, target)
        self.assertAllEqual(ours.selected_features_, theirs.selected_features_)
        # ADAPT's cvxopt solve reaches the closed-form maximiser
        self.assertAllClose(ours.scores_, theirs.features_scores_ / np.linalg.norm(theirs.features_scores_), atol=1e-3)
