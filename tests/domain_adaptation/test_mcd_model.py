"""`MCDModel`: the three updates of each batch (A, B, C), fit, saving and bad input."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_transfer as kt
from keras_transfer.domain_adaptation.mcd_model import classifier_discrepancy
from tests.test_case import TestCase

RNG = np.random.default_rng(0)
X_S = RNG.normal(size=(32, 6)).astype("float32")
Y_S = RNG.integers(0, 3, 32)
X_T = RNG.normal(1.0, 1.5, size=(24, 6)).astype("float32")
Y_T = RNG.integers(0, 3, 24)
LR = 0.1


def make_model(batchnorm=False, activation="softmax", **kwargs):
    layers = [keras.layers.Dense(8, activation="tanh")] + ([keras.layers.BatchNormalization()] if batchnorm else [])
    features = keras.Sequential([keras.Input((6,)), *layers], name="features")
    classifier = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, activation=activation, dtype="float32")],
                                  name="classifier")
    return kt.models.MCDModel(features, classifier, **kwargs)


def data(weights=(), batch_size=8, shuffle=True):
    return kt.data.domain_adaptation_dataset(source=(X_S, Y_S, *weights), target=X_T, batch_size=batch_size,
                                             seed=0, shuffle=shuffle)


def snapshot(layer):
    return [w.numpy().copy() for w in layer.trainable_weights]


def discrepancy(model, x):
    features = model.feature_extractor(x)
    p1, p2 = model.classifier(features), model.second_classifier(features)
    return float(classifier_discrepancy(p1, p2)), p1.numpy(), p2.numpy()


class TestMCDModel(TestCase):
    def _compiled(self, **kwargs):
        model = make_model(**kwargs)
        model.compile(keras.optimizers.SGD(LR), "sparse_categorical_crossentropy")
        model.optimizer.build(model.trainable_variables)
        return model

    def test_step_b_raises_the_discrepancy_with_the_extractor_fixed(self):
        model = self._compiled()
        xs, ys, xt = X_S[:8], Y_S[:8], X_T[:8]
        extractor, classifiers = model.feature_extractor, model.classifier.trainable_weights + \
            model.second_classifier.trainable_weights
        before_extractor = snapshot(extractor)
        before, _, _ = discrepancy(model, xt)
        with tf.GradientTape() as tape:  # the expected SGD update, by hand
            fs, ft = extractor(xs), extractor(xt)
            ce = keras.losses.SparseCategoricalCrossentropy()
            objective = (ce(ys, model.classifier(fs)) + ce(ys, model.second_classifier(fs))
                         - classifier_discrepancy(model.classifier(ft), model.second_classifier(ft)))
        expected = [w.numpy() - LR * g.numpy() for w, g in zip(classifiers, tape.gradient(objective, classifiers))]
        returned = model.classifier_step(xs, xt, ys)
        assert float(returned) == pytest.approx(before, rel=1e-5)  # the discrepancy before the step
        for w, e in zip(classifiers, expected):
            self.assertAllClose(w, e, atol=1e-6, msg=w.path)
        for w, b in zip(extractor.trainable_weights, before_extractor):
            self.assertAllEqual(w.numpy(), b)
        after, _, _ = discrepancy(model, xt)
        assert after > before
        # with zero source weights, step B is pure ascent on the discrepancy
        model.classifier_step(xs, xt, ys, np.zeros(8, "float32"))
        assert discrepancy(model, xt)[0] > after

    def test_step_c_lowers_the_discrepancy_with_the_classifiers_fixed(self):
        model = self._compiled()
        xt = X_T[:8]
        for _ in range(3):  # classifiers that disagree on the target
            model.classifier_step(X_S[:8], xt, Y_S[:8], np.zeros(8, "float32"))
        extractor = model.feature_extractor.trainable_weights
        before_classifiers = snapshot(model.classifier) + snapshot(model.second_classifier)
        before, _, _ = discrepancy(model, xt)
        with tf.GradientTape() as tape:
            ft = model.feature_extractor(xt)
            objective = classifier_discrepancy(model.classifier(ft), model.second_classifier(ft))
        expected = [w.numpy() - LR * g.numpy() for w, g in zip(extractor, tape.gradient(objective, extractor))]
        model.extractor_step(xt)
        for w, e in zip(extractor, expected):
            self.assertAllClose(w, e, atol=1e-6, msg=w.path)
        after_classifiers = snapshot(model.classifier) + snapshot(model.second_classifier)
        for a, b in zip(after_classifiers, before_classifiers):
            self.assertAllEqual(a, b)
        assert discrepancy(model, xt)[0] < before

    def test_step_a_trains_everything_on_both_source_losses(self):
        model = self._compiled()
        xs, ys = X_S[:8], Y_S[:8]
        variables = model.trainable_weights
        with tf.GradientTape() as tape:
            fs = model.feature_extractor(xs)
            ce = keras.losses.SparseCategoricalCrossentropy()
            objective = ce(ys, model.classifier(fs)) + ce(ys, model.second_classifier(fs))
        expected = [w.numpy() - LR * g.numpy() for w, g in zip(variables, tape.gradient(objective, variables))]
        loss, _ = model.source_step(xs, ys)
        assert float(loss) == pytest.approx(float(objective), rel=1e-5)
        for w, e in zip(variables, expected):
            self.assertAllClose(w, e, atol=1e-6, msg=w.path)

    def test_a_batch_is_a_b_and_n_c_in_order_at_one_iteration(self):
        model = self._compiled(generator_steps=3)
        twin = self._compiled(generator_steps=3)
        twin.set_weights(model.get_weights())
        xs, ys, xt = X_S[:8], Y_S[:8], X_T[:8]
        logs = model.train_on_batch({"source": xs, "target": xt}, ys, return_dict=True)
        twin.source_step(xs, ys)
        measured = float(twin.classifier_step(xs, xt, ys))
        for _ in range(3):
            twin.extractor_step(xt)
        for a, b in zip(model.weights, twin.weights):
            self.assertAllClose(a, b, atol=1e-6, msg=a.path)
        assert logs["discrepancy"] == pytest.approx(measured, rel=1e-5)
        assert int(model.optimizer.iterations.numpy()) == 1  # one batch, five updates

    def test_fit_logs_validation_predict_and_save_load(self):
        keras.utils.set_random_seed(1)
        model = make_model(batchnorm=True, generator_steps=2)
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(data(), epochs=2, validation_data=(X_T, Y_T), verbose=0).history
        assert set(history) == {"loss", "discrepancy", "accuracy", "val_loss", "val_accuracy"}
        assert all(0.0 <= d <= 2.0 / 3 for d in history["discrepancy"])
        assert int(model.optimizer.iterations.numpy()) == 8  # 2 epochs x 4 batches
        predictions = model.predict(X_T, verbose=0)
        self.assertAllClose(predictions, model.classifier(model.feature_extractor(X_T)), atol=1e-6)
        self.assertAllClose(predictions, model.inference_model.predict(X_T, verbose=0), atol=1e-6)
        _, val_accuracy = model.evaluate(X_T, Y_T, verbose=0)
        assert val_accuracy == pytest.approx(np.mean(predictions.argmax(-1) == Y_T))
        revived = self.run_model_saving_test(model, X_T)
        for saved, loaded in zip(model.second_classifier.weights, revived.second_classifier.weights):
            self.assertAllEqual(loaded.numpy(), saved.numpy())
        assert revived.generator_steps == 2 and revived.from_logits is False
        assert int(revived.optimizer.iterations.numpy()) == 8
        revived.fit(data(), epochs=1, verbose=0)  # continues from the saved optimizer state
        assert int(revived.optimizer.iterations.numpy()) == 12

    def test_jit_compile_trains_as_the_graph_step(self):
        weights = []
        for jit in (False, True):
            keras.utils.set_random_seed(3)
            model = make_model(activation=None)  # logits: the softmax is taken inside
            model.compile(keras.optimizers.SGD(0.05), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                          jit_compile=jit)
            model.fit(data(shuffle=False), epochs=1, verbose=0)
            weights.append(model.get_weights())
        for a, b in zip(*weights):
            self.assertAllClose(b, a, atol=1e-5, rtol=1e-5)

    def test_sample_weight_weights_both_source_losses(self):
        weights = np.where(Y_S == 0, 0.0, RNG.uniform(0.5, 2.0, 32)).astype("float32")
        model = make_model()
        model.compile(keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy")
        history = model.fit(data((weights,), batch_size=32, shuffle=False), epochs=1, verbose=0).history
        features = model.feature_extractor(X_S)
        ce = [keras.losses.sparse_categorical_crossentropy(Y_S, c(features)).numpy()
              for c in (model.classifier, model.second_classifier)]
        assert history["loss"][0] == pytest.approx(float(np.sum(weights * (ce[0] + ce[1])) / 32), rel=1e-5)

    def test_second_classifier_is_a_fresh_copy_unless_given(self):
        model = make_model()
        first, second = model.classifier, model.second_classifier
        assert second.get_config()["layers"][-1]["config"]["units"] == 3
        assert not any(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(first.weights[:1], second.weights[:1]))
        given = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, activation="softmax")])
        assert kt.models.MCDModel(model.feature_extractor, first, second_classifier=given).second_classifier is given

    def test_bad_input_is_named_before_training(self):
        model = make_model()
        features, classifier = model.feature_extractor, model.classifier
        with pytest.raises(TypeError, match=r"`feature_extractor`.*Keras layer"):
            kt.models.MCDModel(lambda x: x, classifier)
        with pytest.raises(TypeError, match=r"`second_classifier`.*Keras layer"):
            kt.models.MCDModel(features, classifier, second_classifier="copy")
        with pytest.raises(ValueError, match=r"`second_classifier`.*weights of its own"):
            kt.models.MCDModel(features, classifier, second_classifier=classifier)
        with pytest.raises(ValueError, match=r"`generator_steps`.*>= 1.*Received: generator_steps=0"):
            kt.models.MCDModel(features, classifier, generator_steps=0)
        sigmoid = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, activation="sigmoid")])
        with pytest.raises(ValueError, match=r"`from_logits`"):
            kt.models.MCDModel(features, sigmoid)
        model.compile("adam", "sparse_categorical_crossentropy")
        before = [w.numpy().copy() for w in model.weights]
        with pytest.raises(ValueError, match=r"`x`.*'source'.*'target'.*domain_adaptation_dataset"):
            model.fit(X_S, Y_S, epochs=1, verbose=0)  # target missing
        batches = {"source": X_S, "target": X_T[:8].repeat(4, axis=0)}
        with pytest.raises(ValueError, match=r"`sample_weight`.*non-negative"):
            model.fit(batches, Y_S, sample_weight=-np.ones(32), epochs=1, verbose=0)
        with pytest.raises(ValueError, match=r"`sample_weight`.*one weight per source example \(32\)"):
            model.fit(batches, Y_S, sample_weight=np.ones(5), epochs=1, verbose=0)
        with pytest.raises(ValueError, match=r"`source`.*non-negative sample weights"):
            data((-np.ones(32),))
        with pytest.raises(ValueError, match=r"`source`.*one entry per input"):
            data((np.ones(5),))
        with pytest.raises(ValueError, match=r"`target`"):
            kt.data.domain_adaptation_dataset(source=(X_S, Y_S), target=None, batch_size=8)
        for b, w in zip(before, model.weights):
            self.assertAllEqual(w.numpy(), b)

    @pytest.mark.parametrize("policy,jit", [("mixed_float16", False),
                                            pytest.param("mixed_bfloat16", True, marks=pytest.mark.large)])
    def test_mixed_precision_finite_losses(self, policy, jit):
        keras.config.set_dtype_policy(policy)
        try:
            model = make_model(batchnorm=True)
            model.compile("adam", "sparse_categorical_crossentropy", jit_compile=jit)
            history = model.fit(data(), epochs=1, verbose=0).history
        finally:
            keras.config.set_dtype_policy("float32")
        assert all(np.isfinite(v[0]) for v in history.values())
        assert model.predict(X_T, verbose=0).dtype == np.float32
