"""IWCV and DEV: the estimators against numpy on a tiny case, the callback's log monitored by EarlyStopping and
ModelCheckpoint, an estimate closer to the target loss than the plain source loss under covariate shift, bad input."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.domain_adaptation import importance_weighted_validation as iwv
from tests.test_case import TestCase

RNG = np.random.default_rng(0)


def classifier(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(8, activation="tanh"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    return model


class TestEstimators(TestCase):
    def test_iwcv_and_dev_by_hand(self):
        losses, weights = np.array([0.2, 1.0, 0.5, 2.0]), np.array([0.5, 1.5, 1.0, 1.0])
        assert iwv.estimate(losses, weights, "iwcv") == pytest.approx(np.mean(losses * weights))
        wl = losses * weights
        eta = -np.sum((wl - wl.mean()) * (weights - weights.mean())) / np.sum((weights - weights.mean()) ** 2)
        assert iwv.estimate(losses, weights, "dev") == pytest.approx(wl.mean() + eta * weights.mean() - eta)
        ones = np.ones(4)
        assert iwv.estimate(losses, ones, "dev") == pytest.approx(losses.mean())  # Var(w) = 0: IWCV

    def test_per_example_losses(self):
        p = np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4]])
        y = np.array([0, 0, 1])
        self.assertAllClose(iwv.per_example("sparse_categorical_crossentropy", y, p), -np.log([0.9, 0.3, 0.4]))
        self.assertAllClose(iwv.per_example("error", y, p), [0.0, 1.0, 1.0])


class TestCallback(TestCase):
    def test_logged_for_early_stopping_and_checkpoint(self):
        x, y = RNG.normal(size=(80, 1)).astype("float32"), RNG.integers(0, 2, 80)
        model = classifier()
        weights = RNG.uniform(0.2, 2.0, 20)
        callback = kt.callbacks.ImportanceWeightedValidation((x[:20], y[:20]), weights, loss="error")
        path = self.tmp_path_str("best.keras")
        checkpoint = keras.callbacks.ModelCheckpoint(path, monitor="val_dev_error", mode="min",
                                                     save_best_only=True)
        stop = keras.callbacks.EarlyStopping(monitor="val_dev_error", mode="min", patience=1)
        history = model.fit(x[20:], y[20:], epochs=6, verbose=0, callbacks=[callback, checkpoint, stop])
        assert len(history.history["val_dev_error"]) == len(history.history["loss"])
        errors = iwv.per_example("error", y[:20], model.predict(x[:20], verbose=0))
        assert history.history["val_dev_error"][-1] == pytest.approx(iwv.estimate(errors, weights / weights.mean(), "dev"))
        assert keras.models.load_model(path) is not None

    def test_closer_to_the_target_loss_than_the_source_loss_under_covariate_shift(self):
        """Source over-samples x < 0, target lives at x > 0, labels depend on x alone (noisier for x > 0)."""
        def labels(x):
            flip = RNG.uniform(size=len(x)) < np.where(x[:, 0] > 0.5, 0.35, 0.0)
            return ((np.sin(3 * x[:, 0]) > 0) ^ flip).astype("int64")

        xs = RNG.normal(-1.0, 1.0, size=(1500, 1)).astype("float32")
        xt = RNG.normal(1.0, 0.5, size=(1500, 1)).astype("float32")
        ys, yt = labels(xs), labels(xt)
        model = classifier()
        model.fit(xs[:1000], ys[:1000], epochs=20, verbose=0)
        true_target = model.evaluate(xt, yt, verbose=0)
        plain = model.evaluate(xs[1000:], ys[1000:], verbose=0)
        weights = kt.domain_adaptation.importance_weights(xs[1000:], xt, "ulsif")
        for method in ("iwcv", "dev"):
            value = kt.callbacks.ImportanceWeightedValidation((xs[1000:], ys[1000:]), weights, method=method)
            value.set_model(model)
            estimate = value.value()
            assert abs(estimate - true_target) < 0.7 * abs(plain - true_target), (method, estimate, plain, true_target)

    def test_bad_input_named(self):
        x, y = np.zeros((4, 1), "float32"), np.array([0, 1, 0, 1])
        cases = [
            (dict(validation_data=x, weights=np.ones(4)), TypeError, "validation_data"),
            (dict(validation_data=(x, y[:3]), weights=np.ones(4)), ValueError, "validation_data"),
            (dict(validation_data=(x, y.astype("float32") + 0.5), weights=np.ones(4)), ValueError, "validation_data"),
            (dict(validation_data=(x, y), weights=np.ones(3)), ValueError, "weights"),
            (dict(validation_data=(x, y), weights=-np.ones(4)), ValueError, "weights"),
            (dict(validation_data=(x, y), weights=np.ones(4), method="ivcw"), ValueError, "method"),
            (dict(validation_data=(x, y), weights=np.ones(4), loss="mse"), ValueError, "loss"),
        ]
        for kwargs, error, name in cases:
            with pytest.raises(error, match=f"`{name}`"):
                kt.callbacks.ImportanceWeightedValidation(**kwargs)
