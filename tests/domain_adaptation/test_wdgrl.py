import json

import keras
import numpy as np
import pytest
from keras import ops

import keras_transfer as kt
from keras_transfer.domain_adaptation.wdgrl import wasserstein_terms
from tests.test_case import TestCase

RNG = np.random.default_rng(0)
X_S = RNG.normal(size=(32, 6)).astype("float32")
Y_S = RNG.integers(0, 3, 32)
X_T = RNG.normal(1.0, 1.5, size=(24, 6)).astype("float32")
Y_T = RNG.integers(0, 3, 24)


def parts():
    features = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="tanh")], name="features")
    classifier = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, activation="softmax")], name="classifier")
    return features, classifier


def model(**kwargs):
    kwargs.setdefault("critic", keras.Sequential([keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)]))
    return kt.models.WDGRL(*parts(), seed=0, **kwargs)


def data(batch_size=8, weights=()):
    return kt.data.domain_adaptation_dataset(source=(X_S, Y_S, *weights), target=X_T, batch_size=batch_size, seed=0)


def linear_critic(w, b=0.3):
    critic = keras.Sequential([keras.layers.Dense(1)])
    critic.build((None, len(w)))
    critic.set_weights([np.asarray(w, "float32")[:, None], np.array([b], "float32")])
    return critic


class TestWassersteinTerms(TestCase):
    def test_linear_critic_distance_and_penalty_equal_their_formulas(self):
        w = np.array([0.5, -2.0, 1.0], "float32")
        source, target = RNG.normal(size=(5, 3)).astype("float32"), RNG.normal(2.0, 1.0, (4, 3)).astype("float32")
        distance, penalty = wasserstein_terms(linear_critic(w), source, target, RNG.uniform(size=4))
        # A linear critic has the gradient w at every interpolate: the penalty is (||w|| - 1)^2.
        self.assertAllClose(distance, (source @ w).mean() - (target @ w).mean(), atol=1e-5)
        self.assertAllClose(penalty, (np.linalg.norm(w) - 1.0) ** 2, atol=1e-5)

    def test_penalty_of_a_nonlinear_critic_equals_numpy_gradient_norms(self):
        critic = keras.Sequential([keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(1)])
        critic.build((None, 3))
        w1, b1, v, c = critic.get_weights()
        source, target = RNG.normal(size=(6, 3)).astype("float32"), RNG.normal(1.0, 1.0, (6, 3)).astype("float32")
        alpha = RNG.uniform(size=6).astype("float32")
        distance, penalty = wasserstein_terms(critic, source, target, alpha)
        h = alpha[:, None] * source + (1 - alpha[:, None]) * target
        gradients = (v[:, 0] * (1 - np.tanh(h @ w1 + b1) ** 2)) @ w1.T  # d critic / d h, per interpolate
        expected = np.mean((np.linalg.norm(gradients, axis=1) - 1.0) ** 2)
        self.assertAllClose(penalty, expected, atol=1e-5)
        score = lambda x: np.tanh(x @ w1 + b1) @ v[:, 0] + c[0]  # noqa: E731
        self.assertAllClose(distance, score(source).mean() - score(target).mean(), atol=1e-5)

    def test_trained_linear_critic_reaches_the_penalised_optimum(self):
        # max_w w.(m_s - m_t) - gamma (||w|| - 1)^2 has ||w|| = 1 + ||d|| / (2 gamma): estimate ||d|| + ||d||^2 / (2 gamma).
        xs = RNG.normal(size=(64, 2)).astype("float32")
        xt = RNG.normal([1.0, 2.0], 0.5, (64, 2)).astype("float32")
        identity = keras.Sequential([keras.Input((2,)), keras.layers.Identity()])
        classifier = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
        wdgrl = kt.models.WDGRL(identity, classifier, critic=keras.Sequential([keras.layers.Dense(1)]),
                                alignment_weight=0.0, gradient_penalty_weight=10.0, critic_steps=10, seed=0)
        wdgrl.compile(keras.optimizers.Adam(0.1), "sparse_categorical_crossentropy")
        full_batch = kt.data.domain_adaptation_dataset(source=(xs, (xs[:, 0] > 0).astype(int)), target=xt,
                                                       batch_size=64)
        history = wdgrl.fit(full_batch, epochs=12, verbose=0).history
        d = np.linalg.norm(xs.mean(0) - xt.mean(0))
        assert history["alignment_loss"][-1] == pytest.approx(d + d ** 2 / 20.0, rel=1e-3)
        assert history["gradient_penalty"][-1] == pytest.approx((d / 20.0) ** 2, rel=2e-2)


class TestWDGRL(TestCase):
    def test_fit_logs_validation_sample_weight_and_save_load_round_trip(self):
        wdgrl = model(alignment_weight=0.5, critic_steps=2)
        wdgrl.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        classifier_before = [w.copy() for w in wdgrl.classifier.get_weights()]
        zero = np.zeros(len(Y_S), "float32")
        history = wdgrl.fit(data(weights=(zero,)), epochs=2, validation_data=(X_T, Y_T), verbose=0).history
        assert set(history) == {"loss", "task_loss", "alignment_loss", "gradient_penalty", "accuracy", "val_loss",
                                "val_accuracy"}
        for loss, task, align in zip(history["loss"], history["task_loss"], history["alignment_loss"]):
            assert loss == pytest.approx(task + 0.5 * align, rel=1e-5, abs=1e-6)
        # Zero source weights: no task loss, and the critic term does not reach the classifier.
        assert history["task_loss"] == [0.0, 0.0]
        for before, after in zip(classifier_before, wdgrl.classifier.get_weights()):
            self.assertAllEqual(after, before)
        assert wdgrl.critic_optimizer.iterations.numpy() == 2 * wdgrl.optimizer.iterations.numpy() == 2 * 2 * 4
        predictions = wdgrl.predict(X_T, verbose=0)
        self.assertAllClose(predictions, wdgrl.inference_model.predict(X_T, verbose=0), atol=1e-6)
        revived = self.run_model_saving_test(wdgrl, X_T)
        assert json.loads(json.dumps(revived.get_config())) == json.loads(json.dumps(wdgrl.get_config()))
        for saved, loaded in zip(wdgrl.critic_optimizer.variables, revived.critic_optimizer.variables):
            self.assertAllEqual(loaded.numpy(), saved.numpy())
        revived.fit(data(), epochs=1, verbose=0)  # training continues from the loaded state

    def test_alignment_pulls_the_target_features_to_the_source(self):
        def train(weight):
            keras.utils.set_random_seed(1)
            wdgrl = model(alignment_weight=weight, critic_steps=2)
            wdgrl.compile(keras.optimizers.Adam(2e-2), "sparse_categorical_crossentropy")
            estimate = wdgrl.fit(data(), epochs=8, verbose=0).history["alignment_loss"][-1]
            features = wdgrl.feature_extractor
            return float(np.linalg.norm(ops.mean(features(X_S), 0) - ops.mean(features(X_T), 0))), estimate

        (aligned_gap, aligned_estimate), (gap, estimate) = train(1.0), train(0.0)
        assert aligned_gap < 0.6 * gap and aligned_estimate < 0.6 * estimate

    def test_compiled_step_equals_eager_step(self):
        # XLA draws other interpolation weights than TensorFlow's kernels; a linear critic's
        # penalty does not depend on them, so the two steps (nested tapes included) must agree.
        runs = []
        for jit in (False, True):
            keras.utils.set_random_seed(0)
            wdgrl = model(critic_steps=2, critic=keras.Sequential([keras.layers.Dense(1)]))
            wdgrl.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy", jit_compile=jit)
            logs = wdgrl.train_on_batch({"source": X_S[:8], "target": X_T[:8]}, Y_S[:8], return_dict=True)
            runs.append((logs, [v.numpy() for v in wdgrl.weights]))
        (eager_logs, eager), (jit_logs, jit) = runs
        for a, b in zip(eager, jit):
            self.assertAllClose(a, b, atol=1e-5, rtol=1e-5)
        assert jit_logs["gradient_penalty"] == pytest.approx(eager_logs["gradient_penalty"], rel=1e-4)


@pytest.mark.parametrize(
    "make, error, pattern",
    [
        (lambda: model(critic=keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])), ValueError,
         r"`critic`.*one unbounded score.*sigmoid"),
        (lambda: model(critic=keras.Sequential([keras.layers.Dense(4), keras.layers.BatchNormalization(),
                                                keras.layers.Dense(1)])), ValueError,
         r"`critic`.*each example on its own.*BatchNormalization"),
        (lambda: model(critic="critic"), TypeError, r"`critic`.*Keras layer.*Received: critic='critic'"),
        (lambda: model(critic_steps=0), ValueError, r"`critic_steps`.*>= 1.*Received: critic_steps=0"),
        (lambda: model(gradient_penalty_weight=-1.0), ValueError, r"`gradient_penalty_weight`.*>= 0"),
        (lambda: model(critic_optimizer=3), TypeError, r"`critic_optimizer`.*Keras optimizer.*Received: critic_optimizer=3"),
    ],
)
def test_bad_arguments_are_named(make, error, pattern):
    with pytest.raises(error, match=pattern):
        make()


def test_bad_training_data_is_named_before_training():
    wdgrl = model()
    wdgrl.compile("adam", "sparse_categorical_crossentropy")
    before = [w.numpy().copy() for w in wdgrl.weights]
    with pytest.raises(ValueError, match=r"`x`.*'source'.*'target'.*domain_adaptation_dataset"):
        wdgrl.fit(X_S, Y_S, verbose=0)  # the target is missing
    batches = {"source": X_S[:24], "target": X_T}
    with pytest.raises(ValueError, match=r"`sample_weight`.*non-negative.*Received"):
        wdgrl.fit(batches, Y_S[:24], sample_weight=-np.ones(24), verbose=0)
    with pytest.raises(ValueError, match=r"`sample_weight`.*one weight per source example \(24\).*Received: "
                                         r"sample_weight='10 weights'"):
        wdgrl.fit(batches, Y_S[:24], sample_weight=np.ones(10), verbose=0)
    with pytest.raises(ValueError, match=r"`source`.*non-negative sample weights"):
        data(weights=(-np.ones(len(Y_S)),))
    assert all(np.array_equal(w.numpy(), b) for w, b in zip(wdgrl.weights, before))
