"""GroupOptimizer does the three things keras.optimizers.MultiOptimizer cannot
here (DESIGN.md): restore its state after fit, update a subset of its
variables, expose a readable/settable learning_rate."""

import numpy as np
import pytest

import keras
import keras_transfer as kt
from tests.test_case import TestCase


def dense_model():
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(3, name="a")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, name="b")(hidden))


DATA = (np.random.default_rng(0).normal(size=(16, 4)).astype("float32"), np.ones((16, 1), "float32"))


class TestGroupOptimizer(TestCase):
    def test_sgd_updates_are_scaled_exactly(self):
        model = dense_model()
        optimizer = kt.optimizers.GroupOptimizer(keras.optimizers.SGD(0.1), multipliers={"a/kernel": 0.5})
        model.compile(optimizer, "mse")
        kernel = model.get_layer("a").kernel.numpy().copy()
        with keras.src.backend.tensorflow.core.tf.GradientTape() as tape:
            loss = keras.losses.mean_squared_error(DATA[1], model(DATA[0]))
            loss = keras.ops.mean(loss)
        grad = tape.gradient(loss, model.get_layer("a").kernel)
        model.fit(*DATA, batch_size=16, epochs=1, shuffle=False, verbose=0)
        self.assertAllClose(model.get_layer("a").kernel.numpy(), kernel - 0.5 * 0.1 * grad.numpy(), atol=1e-6)

    def test_state_is_restored_after_fit_and_save(self, tmp_path):
        model = dense_model()
        model.compile(kt.optimizers.GroupOptimizer("adam", multipliers={"a/bias": 0.3}), "mse")
        model.fit(*DATA, epochs=2, verbose=0)
        path = str(tmp_path / "m.keras")
        model.save(path)
        revived = keras.models.load_model(path)
        assert [v.name for v in revived.optimizer.variables] == [v.name for v in model.optimizer.variables]
        for a, b in zip(model.optimizer.variables, revived.optimizer.variables):
            self.assertAllEqual(b.numpy(), a.numpy())
        assert int(revived.optimizer.iterations) == 2

    def test_updates_a_subset_of_its_variables(self):
        model = dense_model()
        optimizer = kt.optimizers.GroupOptimizer("adam")
        optimizer.build(model.trainable_variables)
        b_kernel = model.get_layer("b").kernel
        before = b_kernel.numpy().copy()
        a_kernel = model.get_layer("a").kernel
        optimizer.apply([keras.ops.ones(a_kernel.shape)], [a_kernel])
        self.assertAllEqual(b_kernel.numpy(), before)
        assert int(optimizer.iterations) == 1

    def test_learning_rate_reads_and_writes_the_inner_optimizer(self):
        optimizer = kt.optimizers.GroupOptimizer(keras.optimizers.Adam(0.01))
        assert float(optimizer.learning_rate) == pytest.approx(0.01)
        optimizer.learning_rate = 0.5
        assert float(optimizer.optimizer.learning_rate) == pytest.approx(0.5)
        model = dense_model()
        model.compile(optimizer, "mse")
        scheduler = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 * (epoch + 1))
        model.fit(*DATA, epochs=2, callbacks=[scheduler], verbose=0)
        assert float(model.optimizer.learning_rate) == pytest.approx(0.2)

    def test_extend_keeps_existing_state_and_loads_state_of_later_variables(self, tmp_path):
        model = dense_model()
        model.get_layer("a").trainable = False
        model.compile(kt.optimizers.GroupOptimizer("adam"), "mse")
        model.fit(*DATA, epochs=1, verbose=0)
        optimizer = model.optimizer
        moments = {v.name: v.numpy().copy() for v in optimizer.variables}
        model.get_layer("a").trainable = True
        assert optimizer.extend(model.trainable_variables)
        for variable in optimizer.variables:
            if variable.name in moments:
                self.assertAllEqual(variable.numpy(), moments[variable.name])
        model.make_train_function(force=True)
        model.fit(*DATA, epochs=1, verbose=0)
        model.get_layer("a").trainable = False  # saved while "a" is frozen again
        path = str(tmp_path / "m.keras")
        model.save(path)
        revived = keras.models.load_model(path)
        assert len(revived.optimizer.variables) < len(model.optimizer.variables)
        revived.get_layer("a").trainable = True
        revived.optimizer.extend(revived.trainable_variables)
        expected = {v.name: v.numpy() for v in model.optimizer.variables}
        for variable in revived.optimizer.variables:
            self.assertAllEqual(variable.numpy(), expected[variable.name])

    def test_mixed_float16_keeps_loss_scaling_outermost(self, tmp_path):
        keras.config.set_dtype_policy("mixed_float16")
        model = dense_model()
        model.compile("adam", "mse")
        kt.callbacks.DiscriminativeLR({"a": 0.1}, groups={"a": ["a"], "b": ["b"]}).set_model(model)
        assert isinstance(model.optimizer, kt.optimizers.GroupLossScaleOptimizer)
        assert isinstance(model.optimizer.inner_optimizer, kt.optimizers.GroupOptimizer)
        model.fit(*DATA, epochs=1, verbose=0)
        path = str(tmp_path / "m.keras")
        model.save(path)
        revived = keras.models.load_model(path)
        assert isinstance(revived.optimizer, kt.optimizers.GroupLossScaleOptimizer)
        assert not isinstance(revived.optimizer.inner_optimizer.optimizer, keras.optimizers.LossScaleOptimizer)
        self.assertAllEqual(revived.optimizer.dynamic_scale.numpy(), model.optimizer.dynamic_scale.numpy())
        assert revived.optimizer.inner_optimizer.variable_multipliers() == {"a/kernel": 0.1, "a/bias": 0.1}

    def test_bad_input(self):
        with pytest.raises(ValueError, match=r"multipliers\['x'\].*> 0"):
            kt.optimizers.GroupOptimizer("adam", multipliers={"x": -1.0})
        with pytest.raises(TypeError, match="multipliers"):
            kt.optimizers.GroupOptimizer("adam", multipliers=[0.1])
        with pytest.raises(ValueError, match="no base optimizer arguments"):
            kt.optimizers.GroupOptimizer("adam", clipnorm=1.0)
        with pytest.raises(TypeError, match="optimizer"):
            kt.optimizers.GroupOptimizer(kt.optimizers.GroupOptimizer("adam"))
