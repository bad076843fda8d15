"""Shallow transforms (CORAL, SA, TCA, FA) against independent NumPy/SciPy computations on small cases."""

import keras
import numpy as np
import pytest
from scipy import linalg

import keras_transfer as kt
from tests.test_case import TestCase

DA = kt.domain_adaptation
RNG = np.random.default_rng(0)
X_S = RNG.normal(size=(80, 4)) @ RNG.normal(size=(4, 4))
X_T = RNG.normal(size=(60, 4)) @ RNG.normal(size=(4, 4)) + 2.0


def align_signs(actual, expected):
    """`actual` with each column's sign flipped to agree with `expected` (eigenvector signs are arbitrary)."""
    return actual * np.sign(np.sum(actual * expected, axis=0, keepdims=True))


class TestCORALTransform(TestCase):
    def test_the_source_covariance_becomes_the_target_covariance(self):
        coral = DA.CORALTransform(regularization=1e-9)
        source, target = coral.fit_transform(X_S, X_T)
        self.assertAllClose(np.cov(source, rowvar=False), np.cov(X_T, rowvar=False), atol=1e-6, rtol=1e-6)
        self.assertAllEqual(target, X_T)  # the target is left as it is
        assert not np.allclose(np.cov(X_S, rowvar=False), np.cov(X_T, rowvar=False), atol=0.1)

    @pytest.mark.parametrize("regularization", [1e-5, 1.0])
    def test_equals_the_papers_matrix_square_roots(self, regularization):
        eye = np.eye(4)
        c_s, c_t = np.cov(X_S, rowvar=False) + regularization * eye, np.cov(X_T, rowvar=False) + regularization * eye
        expected = X_S @ np.real(linalg.inv(linalg.sqrtm(c_s))) @ np.real(linalg.sqrtm(c_t))
        coral = DA.CORALTransform(regularization=regularization).fit(X_S, X_T)
        self.assertAllClose(coral.transform(X_S, "source"), expected, atol=1e-8, rtol=1e-8)

    def test_images_and_a_feature_extractor(self):
        images_s, images_t = X_S.reshape(80, 2, 2, 1), X_T.reshape(60, 2, 2, 1)
        flat = DA.CORALTransform().fit(X_S, X_T).transform(X_S, "source")
        self.assertAllClose(DA.CORALTransform().fit(images_s, images_t).transform(images_s, "source"), flat)
        extractor = keras.Sequential([keras.Input((2, 2, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
        features_s, features_t = extractor.predict(images_s, verbose=0), extractor.predict(images_t, verbose=0)
        coral = DA.CORALTransform(feature_extractor=extractor).fit(images_s, images_t)
        expected = DA.CORALTransform().fit(features_s, features_t).transform(features_s, "source")
        self.assertAllClose(coral.transform(images_s, "source"), expected, atol=1e-5)


class TestSubspaceAlignment(TestCase):
    @pytest.mark.parametrize("k", [2, 4])
    def test_equals_a_numpy_svd_computation(self, k):
        def axes(x):
            centred = x - x.mean(0)
            return x.mean(0), np.linalg.svd(centred, full_matrices=False)[2][:k].T

        mean_s, p_s = axes(X_S)
        mean_t, p_t = axes(X_T)
        expected_source = (X_S - mean_s) @ p_s @ (p_s.T @ p_t)
        expected_target = (X_T - mean_t) @ p_t
        source, target = DA.SubspaceAlignment(n_components=k).fit_transform(X_S, X_T)
        # a sign flip of a target axis flips that column in both domains
        self.assertAllClose(align_signs(target, expected_target), expected_target, atol=1e-8)
        flips = np.sign(np.sum(target * expected_target, axis=0))
        self.assertAllClose(source * flips, expected_source, atol=1e-8)
        if k == 4:  # all axes: P_s P_s^T = I, the source lands in the target basis, (x - mean_s) P_t
            self.assertAllClose(source * flips, (X_S - mean_s) @ p_t, atol=1e-8)


class TestTCA(TestCase):
    @pytest.mark.parametrize("kernel", ["rbf", "linear"])
    def test_equals_a_numpy_eigen_computation(self, kernel):
        mu, k = 0.5, 3
        x = np.concatenate([X_S, X_T])
        n_s, n = len(X_S), len(x)
        d2 = ((x[:, None] - x[None]) ** 2).sum(-1)
        gram = np.exp(-d2 / 4.0) if kernel == "rbf" else x @ x.T  # gamma = 1 / n_features
        e = np.r_[np.full(n_s, 1 / n_s), np.full(n - n_s, -1 / (n - n_s))][:, None]
        h = np.eye(n) - np.ones((n, n)) / n
        matrix = np.linalg.solve(gram @ (e @ e.T) @ gram + mu * np.eye(n), gram @ h @ gram)
        values, vectors = np.linalg.eig(matrix)
        top = np.argsort(-values.real)[:k]
        expected = gram @ vectors[:, top].real

        tca = DA.TCA(n_components=k, mu=mu, kernel=kernel)
        source, target = tca.fit_transform(X_S, X_T)
        self.assertAllClose(tca.eigenvalues_, values.real[top], rtol=1e-6, atol=1e-9)
        embedded = np.concatenate([source, target])
        # the same directions: each column parallel to the reference one (eigenvector scales differ)
        cosines = np.abs(np.sum(embedded * expected, 0)) / np.linalg.norm(embedded, axis=0) / np.linalg.norm(expected, axis=0)
        self.assertAllClose(cosines, np.ones(k), atol=1e-6)

    def test_a_smaller_mu_brings_the_domain_means_closer(self):
        def gap(mu):
            source, target = DA.TCA(n_components=2, mu=mu, kernel="linear").fit_transform(X_S, X_T)
            return np.linalg.norm(source.mean(0) - target.mean(0)) / np.sqrt(np.var(np.r_[source, target], 0).sum())

        assert gap(1e-3) < 0.1 * gap(1e3)


class TestFeatureAugmentation(TestCase):
    def test_layout_and_a_few_target_labels_learn_the_target_rule(self):
        from sklearn.linear_model import LogisticRegression

        rng = np.random.default_rng(1)
        x_s, x_t = rng.normal(size=(400, 2)), rng.normal(size=(400, 2))
        y_s, y_t = (x_s[:, 0] > 0).astype(int), (x_t[:, 0] + x_t[:, 1] > 0).astype(int)  # the rule turns 45 degrees
        labelled = np.arange(40)  # 40 labelled target examples
        fa = DA.FeatureAugmentation().fit(x_s, x_t[labelled])
        augmented_s, augmented_l = fa.transform(x_s, "source"), fa.transform(x_t[labelled], "target")
        self.assertAllEqual(augmented_s, np.hstack([x_s, x_s, 0 * x_s]))
        self.assertAllEqual(augmented_l, np.hstack([x_t[labelled], 0 * x_t[labelled], x_t[labelled]]))
        test = np.arange(40, 400)
        plain = LogisticRegression(C=100.0).fit(np.r_[x_s, x_t[labelled]], np.r_[y_s, y_t[labelled]])
        augmented = LogisticRegression(C=100.0).fit(np.r_[augmented_s, augmented_l], np.r_[y_s, y_t[labelled]])
        plain_accuracy = plain.score(x_t[test], y_t[test])
        augmented_accuracy = augmented.score(fa.transform(x_t[test], "target"), y_t[test])
        assert plain_accuracy < 0.85 and augmented_accuracy > plain_accuracy + 0.08, (plain_accuracy, augmented_accuracy)
        # one labelled target example is enough to fit
        assert DA.FeatureAugmentation().fit(x_s, x_t[:1]).transform(x_t[:1]).shape == (1, 6)


class TestTransformsContract(TestCase):
    @pytest.mark.parametrize("make", [DA.CORALTransform, DA.SubspaceAlignment, lambda: DA.TCA(n_components=2), DA.MMDFeatureSelection,
                                      DA.FeatureAugmentation])
    def test_params_clone_and_bad_input(self, make):
        from sklearn.base import clone

        transform = make()
        copy = clone(transform)
        assert type(copy) is type(transform) and copy.get_params() == transform.get_params()
        with pytest.raises(ValueError, match="not fitted yet"):
            transform.transform(X_T)
        transform.fit(X_S, X_T)
        with pytest.raises(ValueError, match=r"`domain`.*'source', 'target'.*Received: domain='src'"):
            transform.transform(X_T, domain="src")
        with pytest.raises(ValueError, match=r"`x`.*4 features per example.*Received: x='3 features'"):
            transform.transform(X_T[:, :3])
        with pytest.raises(ValueError, match=r"`x_target`.*4 features per example, as x_source"):
            make().fit(X_S, X_T[:, :3])
        with pytest.raises(ValueError, match=r"`x_source`.*finite values"):
            make().fit(np.where(X_S > 1, np.nan, X_S), X_T)
        with pytest.raises(ValueError, match=r"`unknown`.*a parameter of"):
            make().set_params(unknown=1)

    def test_argument_checks(self):
        with pytest.raises(ValueError, match=r"`regularization`.*>= 0.*Received: regularization=-1"):
            DA.CORALTransform(regularization=-1)
        with pytest.raises(ValueError, match=r"`n_components`.*at most 4"):
            DA.SubspaceAlignment(n_components=5).fit(X_S, X_T)
        with pytest.raises(ValueError, match=r"`kernel`.*'rbf', 'linear'.*Received: kernel='poly'"):
            DA.TCA(kernel="poly")
        with pytest.raises(ValueError, match=r"`mu`.*> 0"):
            DA.TCA(mu=0.0)
        with pytest.raises(ValueError, match=r"`x_source`.*at most 5,000 source and target examples.*Subsample"):
            DA.TCA().fit(np.zeros((4000, 1)), np.zeros((1001, 1)))
        with pytest.raises(TypeError, match=r"`feature_extractor`.*Keras model"):
            DA.CORALTransform(feature_extractor=lambda x: x)
        assert repr(DA.TCA(n_components=3)) == "TCA(n_components=3)"
        with pytest.raises(ValueError, match=r"`mu`"):
            DA.TCA().set_params(mu=-1.0)
