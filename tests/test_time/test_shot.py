import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_transfer as kt
from keras_transfer.test_time import clustering
from tests.distributed import run_distributed
from tests.test_case import TestCase

CENTERS = np.array([[3, 0, 0, 0], [0, 3, 0, 0], [0, 0, 3, 0]], "float32")
SHIFT = np.array([2.0, -1.0, 1.5, 1.0], "float32")


def _blobs(n, shift, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    return (CENTERS[y] + rng.normal(size=(n, 4)) + shift).astype("float32"), y


def _source_model(seed=0, normalization=False):
    keras.utils.set_random_seed(seed)
    layers = [keras.Input((4,)), keras.layers.Dense(16, activation="relu")]
    if normalization:
        layers.append(keras.layers.BatchNormalization())
    feature_extractor = keras.Sequential([*layers, keras.layers.Dense(8, activation="relu")], name="features")
    classifier = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, name="logits")], name="classifier")
    source = keras.Sequential([feature_extractor, classifier])
    source.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    x, y = _blobs(600, 0.0, seed)
    source.fit(x, y, epochs=20, verbose=0)
    return feature_extractor, classifier, source


class TestSHOT(TestCase):
    def test_adapts_to_a_shift_with_the_classifier_frozen(self):
        feature_extractor, classifier, source = _source_model()
        x_t, y_t = _blobs(600, SHIFT, 1)
        before = source.evaluate(x_t, y_t, verbose=0)[1]
        frozen = [w.copy() for w in classifier.get_weights()]
        features_before = [w.copy() for w in feature_extractor.get_weights()]
        shot = kt.test_time.SHOT(feature_extractor, classifier)
        shot.compile(optimizer=keras.optimizers.Adam(1e-3))
        history = shot.fit(x_t, epochs=10, batch_size=64, verbose=0, validation_data=(x_t, y_t)).history
        assert sorted(history) == ["im_loss", "loss", "pseudo_label_loss", "val_accuracy"]
        assert history["val_accuracy"][-1] > before + 0.08, (before, history["val_accuracy"])
        assert all(np.array_equal(a, b) for a, b in zip(frozen, classifier.get_weights())), "the source hypothesis is frozen"
        assert not all(np.array_equal(a, b) for a, b in zip(features_before, feature_extractor.get_weights()))
        probabilities = shot.predict(x_t, verbose=0)
        self.assertAllClose(probabilities.sum(-1), np.ones(len(x_t)), atol=1e-5)
        assert shot.evaluate(x_t, y_t, verbose=0) == pytest.approx(history["val_accuracy"][-1])

    def test_loss_matches_the_paper(self):
        feature_extractor, classifier, _ = _source_model()
        x_t, _ = _blobs(64, SHIFT, 2)
        shot = kt.test_time.SHOT(feature_extractor, classifier, pseudo_label_weight=0.3, diversity_weight=1.0)
        shot.compile(optimizer=keras.optimizers.SGD(0.0))
        features = feature_extractor.predict(x_t, verbose=0)
        logits = classifier.predict(features, verbose=0)
        p = np.exp(logits - logits.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        centroids = clustering.centroids(features, p)
        unit = features / np.linalg.norm(features, axis=1, keepdims=True)
        pseudo = np.argmax(unit @ centroids.T, axis=1)
        entropy = -(p * np.log(p)).sum(-1).mean()
        mean_p = p.mean(0)
        im = entropy + (mean_p * np.log(mean_p + 1e-5)).sum()
        ce = -np.log(p[np.arange(64), pseudo]).mean()
        history = shot.fit(x_t, epochs=1, batch_size=64, verbose=0).history
        self.assertAllClose(history["im_loss"][0], im, atol=1e-5)
        self.assertAllClose(history["pseudo_label_loss"][0], ce, atol=1e-5)
        self.assertAllClose(history["loss"][0], im + 0.3 * ce, atol=1e-5)
        self.assertAllClose(shot.centroids, centroids, atol=1e-5)

    def test_centroids_two_rounds(self):
        features = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], "float32")
        probabilities = np.array([[0.6, 0.4], [0.6, 0.4], [0.4, 0.6], [0.4, 0.6]], "float32")
        c = clustering.centroids(features, probabilities)
        unit = features / np.linalg.norm(features, axis=1, keepdims=True)  # round one puts 0, 1 in class 0
        second = np.stack([unit[:2].mean(0), unit[2:].mean(0)])
        self.assertAllClose(c, second / np.linalg.norm(second, axis=1, keepdims=True), atol=1e-6)

    def test_save_and_reload(self):
        feature_extractor, classifier, _ = _source_model(normalization=True)
        x_t, _ = _blobs(128, SHIFT, 3)
        shot = kt.test_time.SHOT(feature_extractor, classifier, pseudo_label_weight=0.5)
        shot.compile(optimizer="adam")
        shot.fit(x_t, epochs=2, batch_size=32, verbose=0)
        path = self.tmp_path_str("shot.keras")
        shot.save(path)
        revived = keras.models.load_model(path)
        assert isinstance(revived, kt.test_time.SHOT) and revived.pseudo_label_weight == 0.5
        self.assertAllClose(revived.predict(x_t, verbose=0), shot.predict(x_t, verbose=0), atol=1e-6)
        self.assertAllClose(revived.centroids, shot.centroids)
        revived.fit(x_t, epochs=1, batch_size=32, verbose=0)
        assert int(revived.optimizer.iterations.numpy()) == 12

    @pytest.mark.parametrize("policy, jit", [("float32", True), ("mixed_float16", False), ("mixed_bfloat16", False)])
    def test_xla_and_mixed_precision(self, policy, jit):
        feature_extractor, classifier, _ = _source_model(normalization=True)
        keras.config.set_dtype_policy(policy)
        shot = kt.test_time.SHOT(feature_extractor, classifier)
        shot.compile(optimizer="adam", jit_compile=jit)
        history = shot.fit(_blobs(64, SHIFT, 4)[0], epochs=2, batch_size=16, verbose=0).history
        assert all(np.isfinite(v).all() for v in history.values())
        assert shot.predict(_blobs(8, SHIFT, 5)[0], verbose=0).dtype == np.float32

    @pytest.mark.large  # slow (15-45 s); the default run stays under its budget
    def test_mirrored_strategy(self):
        run_distributed("""
            from tests.test_time.test_shot import SHIFT, _blobs, _source_model
            with strategy.scope():
                feature_extractor, classifier, _ = _source_model(normalization=True)
                shot = kt.test_time.SHOT(feature_extractor, classifier)
                shot.compile(optimizer="adam")
            history = shot.fit(_blobs(64, SHIFT, 6)[0], epochs=2, batch_size=16, verbose=0).history
            assert np.isfinite(history["loss"]).all(), history
            assert shot.distribute_strategy.num_replicas_in_sync == 2
            print("OK")
        """)


class TestSHOTBadInput:
    def test_labels_are_refused(self):
        feature_extractor, classifier, _ = _source_model()
        shot = kt.test_time.SHOT(feature_extractor, classifier)
        shot.compile(optimizer="adam")
        x, y = _blobs(16, SHIFT, 7)
        with pytest.raises(ValueError, match=r"`y`.*unlabelled target inputs.*fine_tune.*validation_data"):
            shot.fit(x, y, verbose=0)
        with pytest.raises(ValueError, match=r"`y`.*tuple"):
            shot.fit((x, y), verbose=0)
        with pytest.raises(ValueError, match=r"`y`.*dataset yielding \(inputs, labels\)"):
            shot.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(8), verbose=0)

    def test_arguments(self):
        feature_extractor, classifier, _ = _source_model()
        with pytest.raises(TypeError, match="feature_extractor"):
            kt.test_time.SHOT("features", classifier)
        conv = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(2, 3)])
        with pytest.raises(ValueError, match=r"feature_extractor.*flat outputs.*\(None, 4, 4, 2\)"):
            kt.test_time.SHOT(conv, classifier)
        with pytest.raises(ValueError, match="pseudo_label_weight"):
            kt.test_time.SHOT(feature_extractor, classifier, pseudo_label_weight=-1.0)
        shot = kt.test_time.SHOT(feature_extractor, classifier)
        shot.compile(optimizer="adam")
        with pytest.raises(ValueError, match=r"`x`.*\(n, 4\).*\(3, 5\)"):
            shot.fit(np.zeros((3, 5), "float32"), verbose=0)
