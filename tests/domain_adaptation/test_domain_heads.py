import numpy as np
import pytest
import tensorflow as tf

import keras
import keras_transfer as kt
from keras_transfer.domain_adaptation._mlp import run_mlp
from tests.test_case import TestCase

RNG = np.random.default_rng(0)


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


class TestDomainAdversarialHead(TestCase):
    def test_shape_layers_and_reversed_gradient(self):
        head = kt.layers.DomainAdversarialHead(hidden_units=(8, 4), dropout=0.2, lambda_=0.5)
        f = tf.constant(RNG.normal(size=(5, 6)).astype("float32"))
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(f)
            logits = head(f, training=False)
            plain = run_mlp(head._mlp, head.domain_logit, f, False)  # the same MLP without reversal
        assert tuple(logits.shape) == (5, 1) and logits.dtype == "float32"
        assert [type(l).__name__ for l in head._mlp] == ["Dense", "Dropout", "Dense", "Dropout"]
        self.assertAllEqual(logits.numpy(), plain.numpy())
        self.assertAllClose(tape.gradient(logits, f), -0.5 * tape.gradient(plain, f), atol=1e-7)

    def test_float32_logits_under_mixed_precision(self):
        keras.config.set_dtype_policy("mixed_float16")
        head = kt.layers.DomainAdversarialHead((8,))
        out = head(tf.ones((2, 3), "float16"))
        assert head._mlp[0].compute_dtype == "float16" and out.dtype == "float32"

    def test_serialization_and_saving(self):
        x = RNG.normal(size=(3, 6)).astype("float32")
        self.run_layer_test(kt.layers.DomainAdversarialHead, {"hidden_units": [8], "dropout": 0.1, "lambda_": 0.2}, x, (3, 1))

    def test_bad_arguments(self):
        with pytest.raises(ValueError, match=r"`hidden_units`.*positive integers"):
            kt.layers.DomainAdversarialHead(hidden_units=(8, 0))
        with pytest.raises(ValueError, match=r"`dropout`.*Received: dropout=1.5"):
            kt.layers.DomainAdversarialHead(dropout=1.5)
        with pytest.raises(ValueError, match=r"`lambda_`.*Received: lambda_=-1"):
            kt.layers.DomainAdversarialHead(lambda_=-1)


class TestConditionalDomainAdversarialHead(TestCase):
    def test_multilinear_map_is_the_outer_product(self):
        head = kt.layers.ConditionalDomainAdversarialHead((8,))
        f = RNG.normal(size=(4, 5)).astype("float32")
        p = softmax(RNG.normal(size=(4, 3))).astype("float32")
        expected = np.einsum("bi,bj->bij", f, p).reshape(4, 15)
        self.assertAllClose(head.multilinear_map(f, p), expected, atol=1e-6)
        assert tuple(head([f, p]).shape) == (4, 1)
        assert head.domain_logit.kernel.shape == (8, 1) and head._mlp[0].kernel.shape == (15, 8)

    def test_randomized_map_and_logits(self):
        head = kt.layers.ConditionalDomainAdversarialHead((8,), multilinear_dim=7, from_logits=True, seed=3)
        f = RNG.normal(size=(4, 5)).astype("float32")
        z = RNG.normal(size=(4, 3)).astype("float32")
        head([f, z])
        rf, rg = head.random_features.numpy(), head.random_predictions.numpy()
        expected = (f @ rf) * (softmax(z) @ rg) / np.sqrt(7)
        self.assertAllClose(head.multilinear_map(f, z), expected, atol=1e-5)
        assert not head.random_features.trainable

    def test_entropy_weights(self):
        head = kt.layers.ConditionalDomainAdversarialHead()
        p = np.array([[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0.0]], "float32")
        entropy = np.array([0.0, np.log(3), np.log(2)])
        self.assertAllClose(head.entropy_weights(p), 1 + np.exp(-entropy), atol=1e-5)

    def test_features_get_the_reversed_gradient_predictions_none(self):
        head = kt.layers.ConditionalDomainAdversarialHead((8,), lambda_=2.0)
        f = tf.constant(RNG.normal(size=(4, 5)).astype("float32"))
        p = tf.constant(softmax(RNG.normal(size=(4, 3))).astype("float32"))
        with tf.GradientTape(persistent=True) as tape:
            tape.watch([f, p])
            logits = head([f, p])
            plain = run_mlp(head._mlp, head.domain_logit, head.multilinear_map(f, p), False)
        self.assertAllClose(tape.gradient(logits, f), -2.0 * tape.gradient(plain, f), atol=1e-6)
        assert tape.gradient(logits, p) is None

    def test_prediction_gradient_reaches_the_predictions_reversed(self):
        head = kt.layers.ConditionalDomainAdversarialHead((8,), lambda_=2.0, prediction_gradient=True)
        f = tf.constant(RNG.normal(size=(4, 5)).astype("float32"))
        p = tf.constant(softmax(RNG.normal(size=(4, 3))).astype("float32"))
        with tf.GradientTape(persistent=True) as tape:
            tape.watch([f, p])
            logits = head([f, p])
            mapped = tf.reshape(f[:, :, None] * p[:, None, :], (4, 15))  # the outer product, gradient kept
            plain = run_mlp(head._mlp, head.domain_logit, mapped, False)
        self.assertAllClose(tape.gradient(logits, p), -2.0 * tape.gradient(plain, p), atol=1e-6)
        self.assertAllClose(tape.gradient(logits, f), -2.0 * tape.gradient(plain, f), atol=1e-6)
        assert float(tf.reduce_max(tf.abs(tape.gradient(logits, p)))) > 0
        assert head.get_config()["prediction_gradient"] is True
        assert type(head).from_config(head.get_config()).prediction_gradient is True

    def test_saving_keeps_the_random_matrices(self):
        inputs = [keras.Input((5,)), keras.Input((3,))]
        head = kt.layers.ConditionalDomainAdversarialHead((4,), multilinear_dim=6, entropy_conditioning=False)
        model = keras.Model(inputs, head(inputs))
        data = [RNG.normal(size=(2, 5)).astype("float32"), softmax(RNG.normal(size=(2, 3))).astype("float32")]
        revived = self.run_model_saving_test(model, data)
        self.run_serialization_test(head)
        assert revived.layers[-1].get_config() == head.get_config()

    def test_bad_arguments(self):
        with pytest.raises(TypeError, match="`entropy_conditioning`"):
            kt.layers.ConditionalDomainAdversarialHead(entropy_conditioning="yes")
        with pytest.raises(TypeError, match=r"`prediction_gradient`.*a bool.*Received: prediction_gradient=1"):
            kt.layers.ConditionalDomainAdversarialHead(prediction_gradient=1)
        with pytest.raises(ValueError, match="`multilinear_dim`"):
            kt.layers.ConditionalDomainAdversarialHead(multilinear_dim=0)
        with pytest.raises(ValueError, match=r"`inputs`.*\[features"):
            kt.layers.ConditionalDomainAdversarialHead()(np.ones((2, 3), "float32"))
