"""`GroupOptimizer(use_ema=True)` averages the weights it applies (after the per-group rescaling)."""

import numpy as np
import pytest

import keras
import keras_transfer as kt
from tests.test_case import TestCase


def dense_model():
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(3, name="a")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, name="b")(hidden))


RNG = np.random.default_rng(0)
X = RNG.normal(size=(16, 4)).astype("float32")
Y = X.sum(axis=1, keepdims=True)


class Recorder(keras.callbacks.Callback):
    """The weights the model had after each step, and the optimizer's averages then."""

    def __init__(self):
        super().__init__()
        self.weights, self.averages = [], []

    def on_train_batch_end(self, batch, logs=None):
        optimizer = self.model.optimizer
        self.weights.append({v.path: v.numpy().copy() for v in optimizer._trainable_variables})
        self.averages.append({
            v.path: a.numpy().copy() for v, a in zip(optimizer._trainable_variables, optimizer._model_variables_moving_average)
        })


def hand_ema(weights, momentum):
    """The moving average written out: the first step's weights, then m * average + (1 - m) * weights."""
    averages = [dict(weights[0])]
    for step in weights[1:]:
        averages.append({p: momentum * averages[-1][p] + (1 - momentum) * step[p] for p in step})
    return averages


class TestAppliedWeightAverage(TestCase):
    def fit(self, optimizer, epochs=6, **kwargs):
        keras.utils.set_random_seed(1)
        model = dense_model()
        model.compile(optimizer, "mse")
        recorder = Recorder()
        history = model.fit(X, Y, batch_size=8, epochs=epochs, shuffle=False, verbose=0,
                            callbacks=[recorder, *kwargs.pop("callbacks", [])], **kwargs)
        return model, recorder, history

    def test_average_of_the_rescaled_weights_equals_a_hand_computed_ema(self):
        optimizer = kt.optimizers.GroupOptimizer(
            keras.optimizers.Adam(0.05), multipliers={"a": 0.2, "b/bias": 3.0}, use_ema=True, ema_momentum=0.7)
        model, recorder, _ = self.fit(optimizer)
        expected = hand_ema(recorder.weights, 0.7)
        for step, (got, want) in enumerate(zip(recorder.averages, expected)):
            for path in want:
                self.assertAllClose(got[path], want[path], atol=1e-6, msg=f"step {step}, {path}")
        # At the end of fit the weights become their average, as with Keras's use_ema.
        for variable in model.trainable_variables:
            self.assertAllClose(variable.numpy(), expected[-1][variable.path], atol=1e-6)
        assert np.abs(recorder.weights[-1]["a/kernel"] - expected[-1]["a/kernel"]).max() > 1e-3

    def test_an_inner_optimizers_use_ema_is_taken_over(self):
        inner = keras.optimizers.Adam(0.05, use_ema=True, ema_momentum=0.6)
        optimizer = kt.optimizers.GroupOptimizer(inner, multipliers={"a": 0.1})
        assert optimizer.use_ema and optimizer.ema_momentum == 0.6 and not inner.use_ema
        model, recorder, _ = self.fit(optimizer, epochs=3)
        expected = hand_ema(recorder.weights, 0.6)
        self.assertAllClose(recorder.averages[-1]["a/kernel"], expected[-1]["a/kernel"], atol=1e-6)

    def test_callbacks_installing_the_wrapper_keep_compiles_use_ema(self):
        keras.utils.set_random_seed(2)
        model = kt.build_classifier(
            keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Conv2D(3, 3, name="trunk")]), 2,
            input_shape=(4, 4, 1), freeze=True)
        model.compile(keras.optimizers.Adam(0.05, use_ema=True, ema_momentum=0.5), "sparse_categorical_crossentropy")
        recorder = Recorder()
        labels = (X[:, 0] > 0).astype("int64")
        images = RNG.normal(size=(16, 4, 4, 1)).astype("float32")
        model.fit(images, labels, batch_size=8, epochs=3, shuffle=False, verbose=0,
                  callbacks=[kt.callbacks.FreezeSchedule({1: "all"}), kt.callbacks.DiscriminativeLR(decay=0.5), recorder])
        optimizer = model.optimizer
        assert isinstance(optimizer, kt.optimizers.GroupOptimizer) and optimizer.use_ema
        trunk = [p for p in recorder.weights[-1] if "trunk" in p][0]
        # Frozen in epoch 0 (its average is its constant value), trained from epoch 1 on.
        joined = [w for w in recorder.weights if trunk in w]
        assert np.abs(joined[-1][trunk] - joined[0][trunk]).max() > 1e-3
        expected = hand_ema(joined, 0.5)
        self.assertAllClose(recorder.averages[-1][trunk], expected[-1][trunk], atol=1e-6)

    def test_swap_ema_weights_evaluates_the_average(self):
        optimizer = kt.optimizers.GroupOptimizer("adam", multipliers={"a": 0.5}, use_ema=True, ema_momentum=0.8)
        model, recorder, history = self.fit(
            optimizer, epochs=4, validation_data=(X, Y), callbacks=[keras.callbacks.SwapEMAWeights()])
        final = hand_ema(recorder.weights, 0.8)[-1]
        self.assertAllClose(model.get_layer("a").kernel.numpy(), final["a/kernel"], atol=1e-6)
        # Validation ran on the averaged weights, which are now the model's.
        self.assertAllClose(history.history["val_loss"][-1], model.evaluate(X, Y, verbose=0), rtol=1e-5)

    def test_overwrite_frequency_puts_the_average_into_the_model(self):
        optimizer = kt.optimizers.GroupOptimizer("sgd", use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=2)
        _, recorder, _ = self.fit(optimizer, epochs=1)
        self.assertAllClose(recorder.weights[1]["a/kernel"], recorder.averages[1]["a/kernel"], atol=1e-7)

    def test_averages_are_saved_and_loaded_by_variable(self, tmp_path):
        optimizer = kt.optimizers.GroupOptimizer("adam", multipliers={"a": 0.5}, use_ema=True)
        model, _, _ = self.fit(optimizer, epochs=2)
        path = str(tmp_path / "ema.keras")
        model.save(path)
        loaded = keras.models.load_model(path)
        assert loaded.optimizer.use_ema
        for a, b in zip(optimizer._model_variables_moving_average, loaded.optimizer._model_variables_moving_average):
            self.assertAllClose(a.numpy(), b.numpy())

    def test_bad_ema_arguments_are_named(self):
        with pytest.raises(ValueError, match="ema_momentum"):
            kt.optimizers.GroupOptimizer("adam", use_ema=True, ema_momentum=1.5)
        with pytest.raises(ValueError, match="ema_overwrite_frequency"):
            kt.optimizers.GroupOptimizer("adam", use_ema=True, ema_overwrite_frequency=0)
        with pytest.raises(TypeError, match="use_ema"):
            kt.optimizers.GroupOptimizer("adam", use_ema="yes")
        with pytest.raises(ValueError, match="beta_1"):
            kt.optimizers.GroupOptimizer("adam", beta_1=0.5)

    def test_a_variable_joining_later_starts_its_average_at_its_value(self):
        first, later = keras.Variable(np.ones(2, "float32"), name="first"), keras.Variable(np.full(2, 5.0, "float32"), name="later")
        optimizer = kt.optimizers.GroupOptimizer(keras.optimizers.SGD(1.0), use_ema=True, ema_momentum=0.5)
        optimizer.build([first])
        gradient = np.full(2, 0.25, "float32")
        optimizer.apply([gradient], [first])  # first: 0.75, average 0.75
        optimizer.apply([gradient], [first])  # first: 0.5, average 0.625
        optimizer.apply([gradient, gradient], [first, later])  # extends: later 4.75, its average 0.5 * 5 + 0.5 * 4.75
        averages = {v.name: a.numpy() for v, a in zip(optimizer._trainable_variables, optimizer._model_variables_moving_average)}
        self.assertAllClose(averages["first"], [0.4375, 0.4375])
        self.assertAllClose(averages["later"], [4.875, 4.875])
        assert len(optimizer._variables) == len({id(v) for v in optimizer._variables})
