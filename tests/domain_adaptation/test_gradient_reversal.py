import numpy as np
import pytest
import tensorflow as tf

import keras
import keras_transfer as kt
from tests.test_case import TestCase

RNG = np.random.default_rng(0)


def forward_backward(layer, x, upstream):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        loss = tf.reduce_sum(y * upstream)
    return y, tape.gradient(loss, x)


class TestGradientReversal(TestCase):
    def test_exact_identity_forward_and_reversed_backward(self):
        x = tf.constant(RNG.normal(size=(3, 5)).astype("float32") * 1e3)
        upstream = tf.constant(RNG.normal(size=(3, 5)).astype("float32"))
        for lam in (0.0, 0.37, 1.0, 4.0):
            y, grad = forward_backward(kt.layers.GradientReversal(lam), x, upstream)
            self.assertAllEqual(y.numpy(), x.numpy())  # bit-exact, not approximately
            self.assertAllEqual(grad.numpy(), (-np.float32(lam) * upstream).numpy())

    def test_jit_compile_and_lambda_change_without_retrace(self):
        layer = kt.layers.GradientReversal(1.0)
        x = tf.constant(RNG.normal(size=(2, 3)).astype("float32"))

        @tf.function(jit_compile=True)
        def step(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = layer(x)
                loss = tf.reduce_sum(2.0 * y)
            return y, tape.gradient(loss, x)

        y, grad = step(x)
        self.assertAllEqual(y.numpy(), x.numpy())
        self.assertAllEqual(grad.numpy(), np.full((2, 3), -2.0, "float32"))
        layer.lambda_var.assign(0.25)
        _, grad = step(x)
        self.assertAllEqual(grad.numpy(), np.full((2, 3), -0.5, "float32"))
        assert step.experimental_get_tracing_count() == 1

    @pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
    def test_mixed_precision_keeps_the_compute_dtype(self, policy):
        keras.config.set_dtype_policy(policy)
        layer = kt.layers.GradientReversal(0.5)
        x = tf.constant(RNG.normal(size=(2, 3)).astype("float32"))
        y, grad = forward_backward(layer, tf.cast(x, layer.compute_dtype), 1.0)
        assert y.dtype == layer.compute_dtype and layer.lambda_var.dtype == "float32"
        self.assertAllEqual(tf.cast(grad, "float32").numpy(), np.full((2, 3), -0.5, "float32"))

    def test_bad_lambda(self):
        with pytest.raises(ValueError, match=r"`lambda_`.*>= 0.*Received: lambda_=-0.1"):
            kt.layers.GradientReversal(-0.1)
        with pytest.raises(TypeError, match=r"`lambda_`.*number"):
            kt.layers.GradientReversal("one")

    def test_serialization_and_saved_lambda_value(self):
        x = RNG.normal(size=(2, 4)).astype("float32")
        self.run_layer_test(kt.layers.GradientReversal, {"lambda_": 0.3}, x, (2, 4))
        inputs = keras.Input((4,))
        model = keras.Model(inputs, keras.layers.Dense(2)(kt.layers.GradientReversal(0.3, name="grl")(inputs)))
        model.get_layer("grl").lambda_var.assign(0.75)  # e.g. set by a schedule during fit
        revived = self.run_model_saving_test(model, x)
        assert float(revived.get_layer("grl").lambda_var.numpy()) == 0.75
        assert revived.get_layer("grl").get_config()["lambda_"] == 0.3
