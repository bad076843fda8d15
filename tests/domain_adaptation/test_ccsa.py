"""CCSA: `ContrastiveSemanticAlignment` against its formula, and in `DomainAdaptationModel` with labelled target batches."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from tests.test_case import TestCase

RNG = np.random.default_rng(0)


def csa_reference(fs, ys, ft, yt, margin):
    """0.5 * (mean same-class d² + mean different-class max(0, margin - d)²), in float64."""
    d = np.sqrt(((fs[:, None, :].astype("float64") - ft[None, :, :]) ** 2).sum(-1))
    same = ys[:, None] == yt[None, :]
    pull = (d[same] ** 2).mean() if same.any() else 0.0
    push = (np.maximum(margin - d[~same], 0.0) ** 2).mean() if (~same).any() else 0.0
    return 0.5 * (pull + push)


def blobs(n, shift, seed, rotate=0.0):
    """Three classes around three centres; `rotate` (radians) and `shift` move the whole domain."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centres = np.array([[0.0, 2.0], [1.8, -1.0], [-1.8, -1.0]])
    x = centres[y] + rng.normal(0, 0.4, (n, 2))
    c, s = np.cos(rotate), np.sin(rotate)
    return (x @ np.array([[c, -s], [s, c]]) + shift).astype("float32"), y


X_S, Y_S = blobs(96, 0.0, 0)
X_T, Y_T = blobs(96, 1.5, 1, rotate=1.0)
X_L, Y_L = X_T[:6], Y_T[:6]  # two labelled target examples per class


def parts():
    features = keras.Sequential([keras.Input((2,)), keras.layers.Dense(16, activation="tanh"),
                                 keras.layers.Dense(4)], name="features")
    classifier = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")], name="classifier")
    return features, classifier


def ccsa_model(**kwargs):
    return kt.models.DomainAdaptationModel(*parts(), alignment=kt.losses.ContrastiveSemanticAlignment(), **kwargs)


def few_labels(batch_size=16, **kwargs):
    return kt.data.domain_adaptation_dataset(source=(X_S, Y_S), target=None, labelled_target=(X_L, Y_L),
                                             batch_size=batch_size, seed=0, **kwargs)


class TestContrastiveSemanticAlignment(TestCase):
    @pytest.mark.parametrize("margin", [0.5, 1.0, 3.0])
    def test_equals_its_formula(self, margin):
        fs, ft = RNG.normal(size=(12, 5)).astype("float32"), RNG.normal(0.5, 1.0, (7, 5)).astype("float32")
        ys, yt = RNG.integers(0, 3, 12), RNG.integers(0, 3, 7)
        loss = kt.losses.ContrastiveSemanticAlignment(margin=margin)
        expected = csa_reference(fs, ys, ft, yt, margin)
        assert float(loss([fs, ys], [ft, yt])) == pytest.approx(expected, rel=1e-5)
        # one-hot rows are the same labels
        assert float(loss([fs, np.eye(3)[ys]], [ft, np.eye(3)[yt]])) == pytest.approx(expected, rel=1e-5)
        # features of any shape are flattened
        assert float(loss([fs.reshape(12, 5, 1), ys], [ft.reshape(7, 5, 1), yt])) == pytest.approx(expected, rel=1e-5)

    def test_groups_without_pairs_count_zero_and_the_gradient_is_finite(self):
        fs = np.zeros((3, 2), "float32")
        loss = kt.losses.ContrastiveSemanticAlignment(margin=2.0)
        # only different-class pairs, all at distance 0: 0.5 * margin²
        assert float(loss([fs, [0, 0, 0]], [fs, [1, 1, 1]])) == pytest.approx(2.0)
        # only same-class pairs at distance 0: nothing to pull
        assert float(loss([fs, [0, 0, 0]], [fs, [0, 0, 0]])) == 0.0
        import tensorflow as tf

        x = tf.Variable(fs)
        with tf.GradientTape() as tape:
            value = loss([x, [0, 1, 2]], [tf.constant(fs), [0, 1, 2]])
        assert np.all(np.isfinite(tape.gradient(value, x).numpy()))

    def test_config_and_bad_input(self):
        loss = kt.losses.ContrastiveSemanticAlignment(margin=2.5)
        assert self.run_serialization_test(loss).margin == 2.5
        for margin in (0.0, -1.0):
            with pytest.raises(ValueError, match=r"`margin`.*> 0.*Received: margin="):
                kt.losses.ContrastiveSemanticAlignment(margin=margin)
        with pytest.raises(TypeError, match=r"`source`.*pair \[features, labels\]"):
            loss(np.zeros((2, 3)), [np.zeros((2, 3)), [0, 1]])
        with pytest.raises(ValueError, match=r"same size as the source features"):
            loss([np.zeros((2, 3)), [0, 1]], [np.zeros((2, 4)), [0, 1]])


def _pair_distances(model):
    """Mean source-target feature distance of same-class and of different-class pairs (all target examples)."""
    fs, ft = model.feature_extractor.predict(X_S, verbose=0), model.feature_extractor.predict(X_T, verbose=0)
    d = np.sqrt(((fs[:, None] - ft[None]) ** 2).sum(-1))
    same = Y_S[:, None] == Y_T[None, :]
    return d[same].mean(), d[~same].mean()


class TestCCSA(TestCase):
    def test_same_class_pairs_come_together(self):
        distances, accuracies = {}, {}
        for name, alignment in (("ccsa", kt.losses.ContrastiveSemanticAlignment()), ("none", None)):
            keras.utils.set_random_seed(0)
            model = kt.models.DomainAdaptationModel(*parts(), alignment=alignment)
            model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
            data = kt.data.domain_adaptation_dataset(source=(X_S, Y_S), target=None, labelled_target=(X_L, Y_L),
                                                     batch_size=16, seed=0)
            before = _pair_distances(model)
            history = model.fit(data, epochs=15, verbose=0).history
            distances[name] = _pair_distances(model)
            accuracies[name] = np.mean(model.predict(X_T, verbose=0).argmax(-1) == Y_T)
            if alignment is not None:
                assert history["alignment_loss"][-1] < 0.5 * history["alignment_loss"][0]
                ratio_before = before[0] / before[1]
        same, different = distances["ccsa"]
        # CCSA: same-class source/target pairs end much closer than different-class ones,
        # closer than before training and than with the same labels in the task loss alone.
        assert same / different < 0.6 * ratio_before
        assert same / different < 0.7 * (distances["none"][0] / distances["none"][1])
        # It still classifies the target (3 classes, chance 1/3); against the labels in the task loss alone its
        # accuracy varies with the seed here (seed 0: 0.77 vs 0.92, seeds 1-3: equal or above), as on the
        # digits benchmark (docs/domain_adaptation.md): no claim that it never hurts.
        assert accuracies["ccsa"] > 0.7

    def test_fit_validation_and_save_load(self):
        model = ccsa_model(labelled_target_weight=0.0)
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(few_labels(), epochs=2, validation_data=(X_T, Y_T), verbose=0).history
        assert set(history) == {"loss", "task_loss", "alignment_loss", "accuracy", "val_loss", "val_accuracy"}
        for loss, task, align in zip(history["loss"], history["task_loss"], history["alignment_loss"]):
            assert loss == pytest.approx(task + align, rel=1e-5)
        revived = self.run_model_saving_test(model, X_T)
        assert isinstance(revived.alignment, kt.losses.ContrastiveSemanticAlignment)
        assert revived.labelled_target_weight == 0.0
        assert revived.fit(few_labels(), epochs=1, verbose=0).history["alignment_loss"][0] > 0.0

    @pytest.mark.parametrize("jit_compile", [False, True])
    def test_the_alignment_loss_is_the_formula_on_the_step_features(self, jit_compile):
        model = ccsa_model(alignment_weight=0.7)
        model.compile(keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy", jit_compile=jit_compile)
        logs = model.train_on_batch({"source": X_S[:8], "labelled_target": X_L, "labelled_target_labels": Y_L},
                                    Y_S[:8], return_dict=True)
        fs, fl = model.feature_extractor.predict(X_S[:8], verbose=0), model.feature_extractor.predict(X_L, verbose=0)
        expected = csa_reference(fs, Y_S[:8], fl, Y_L, 1.0)
        assert logs["alignment_loss"] == pytest.approx(expected, rel=1e-5)
        assert logs["loss"] == pytest.approx(logs["task_loss"] + 0.7 * expected, rel=1e-5)

    def test_mixed_precision_with_unlabelled_target_and_labelled_batches(self):
        keras.config.set_dtype_policy("mixed_float16")
        try:
            model = ccsa_model()
            model.compile("adam", "sparse_categorical_crossentropy")
            data = kt.data.domain_adaptation_dataset(source=(X_S, Y_S), target=X_T, labelled_target=(X_L, Y_L),
                                                     batch_size=16)
            history = model.fit(data, epochs=1, verbose=0).history
        finally:
            keras.config.set_dtype_policy("float32")
        assert all(np.isfinite(v[0]) for v in history.values())

    def test_bad_input_before_training(self):
        model = ccsa_model()
        model.compile("adam", "sparse_categorical_crossentropy")
        before = [w.numpy().copy() for w in model.weights]
        unlabelled = kt.data.domain_adaptation_dataset(source=(X_S, Y_S), target=X_T, batch_size=16)
        with pytest.raises(ValueError, match=r"`x`.*labelled target examples.*Received: x=\['source', 'target'\]"):
            model.fit(unlabelled, epochs=1, verbose=0)
        with pytest.raises(ValueError, match=r"`x`.*'labelled_target_labels'"):
            model.fit({"source": X_S, "labelled_target": X_L}, Y_S, epochs=1, verbose=0)
        for b, w in zip(before, model.weights):
            self.assertAllEqual(w.numpy(), b)
        # an alignment between domains needs the unlabelled target batches
        dann = kt.models.DomainAdaptationModel(*parts(), alignment=kt.layers.DomainAdversarialHead((4,)))
        dann.compile("adam", "sparse_categorical_crossentropy")
        with pytest.raises(ValueError, match=r"`x`.*unlabelled target inputs under 'target'"):
            dann.fit(few_labels(), epochs=1, verbose=0)
        with pytest.raises(ValueError, match=r"`labelled_target_weight`.*>= 0"):
            ccsa_model(labelled_target_weight=-0.5)


def test_ccsa_through_transfer():
    from tests.test_case import tiny_backbone

    rng = np.random.default_rng(0)
    y = np.arange(24) % 3
    x = np.clip(rng.normal(0, 10, (24, 8, 8, 3)) + y[:, None, None, None] * 80 + 30, 0, 255).astype("float32")
    few = (x[:3] + 20.0, np.array([0, 1, 1]))  # class 2 has no labelled target example
    result = kt.transfer("ccsa", tiny_backbone((8, 8, 3)), few, source=(x, y), preprocessing="unit", epochs=1,
                         batch_size=8, seed=0, verbose=0)
    # num_classes counts the source classes too
    assert result.model.predict(x[:2], verbose=0).shape == (2, 3)
    assert isinstance(result.details["adaptation_model"].alignment, kt.losses.ContrastiveSemanticAlignment)
    with pytest.raises(ValueError, match=r"`target`.*does not use it"):
        kt.transfer("ccsa", tiny_backbone((8, 8, 3)), few, source=(x, y), target=x, preprocessing="unit")
    with pytest.raises(ValueError, match=r"`data`.*needs it"):
        kt.transfer("ccsa", tiny_backbone((8, 8, 3)), source=(x, y), preprocessing="unit")
    with pytest.raises(ValueError, match=r"`margin`.*> 0"):
        kt.transfer("ccsa", tiny_backbone((8, 8, 3)), few, source=(x, y), preprocessing="unit", margin=0.0)
    with pytest.raises(ValueError, match=r"`source`.*class ids in \[0, 1\]"):
        kt.transfer("ccsa", tiny_backbone((8, 8, 3)), few, source=(x, y), num_classes=2, preprocessing="unit")
