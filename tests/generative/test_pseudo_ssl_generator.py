import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_transfer as kt
from tests.generative import tiny
from tests.test_case import TestCase

PSG = kt.layers.PseudoSSLGenerator


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


class TestPseudoSSLGenerator(TestCase):
    def test_samples_are_the_generator_of_the_classifier_soft_labels(self):
        generator = tiny.label_only_generator(classes=3)
        classifier = tiny.classifier(3)
        layer = PSG(generator, classifier, seed=0)
        x = tiny.images(5)
        p = classifier.predict(x, verbose=0)
        expected = generator.predict([np.zeros((5, 2), "float32"), p], verbose=0)
        self.assertAllClose(layer(x), expected, atol=1e-3, rtol=1e-5)
        self.assertAllClose(layer.soft_labels(x), p, atol=1e-6)
        assert "PseudoSSLGenerator" not in kt.generative.__all__  # one public home: kt.layers

    def test_noise_is_drawn_inside_seeded_and_fresh_each_call(self):
        generator, classifier = tiny.generator(), tiny.classifier()
        x = tiny.images(4)
        first, second = PSG(generator, classifier, seed=7), PSG(generator, classifier, seed=7)
        a, b = first(x), first(x)
        assert not np.allclose(a, b), "each call draws new z"
        self.assertAllClose(second(x), a, atol=0, rtol=0)
        self.assertAllClose(second(x), b, atol=0, rtol=0)
        assert first.latent_dim == 4 and first.num_classes == 3

    def test_logits_classifier_and_temperature(self):
        classifier = tiny.classifier(3, activation=None)
        layer = PSG(tiny.generator(), classifier, from_logits=True, temperature=2.0)
        x = tiny.images(4)
        logits = classifier.predict(x, verbose=0)
        self.assertAllClose(layer.soft_labels(x), _softmax(logits / 2.0), atol=1e-6)
        probabilities = tiny.classifier(3)
        sharp = PSG(tiny.generator(), probabilities, temperature=0.5)
        p = probabilities.predict(x, verbose=0)
        self.assertAllClose(sharp.soft_labels(x), p**2 / (p**2).sum(-1, keepdims=True), atol=1e-6)

    def test_adapts_value_range_channels_and_size_both_ways(self):
        classifier = tiny.classifier(3, shape=(8, 8, 1))
        generator = tiny.label_only_generator(classes=3, shape=(8, 8, 1))
        layer = PSG(generator, classifier, value_range=(0, 1), source_value_range=(0, 255), generator_value_range=(0, 255))
        x = tiny.images(3, shape=(16, 16, 3), high=1.0)
        luma = (x * np.array([0.299, 0.587, 0.114], "float32")).sum(-1, keepdims=True) * 255.0
        to_source = tf.image.resize(luma, (8, 8), method="bilinear").numpy()
        self.assertAllClose(layer.soft_labels(x), classifier.predict(to_source, verbose=0), atol=1e-5)
        out = np.asarray(layer(x))
        assert out.shape == (3, 16, 16, 3)
        samples = generator.predict([np.zeros((3, 2), "float32"), classifier.predict(to_source, verbose=0)], verbose=0)
        expected = np.repeat(tf.image.resize(samples / 255.0, (16, 16)).numpy(), 3, axis=-1)
        self.assertAllClose(out, expected, atol=1e-4, rtol=1e-4)

    def test_flat_generator_output_is_reshaped(self):
        z, y = keras.Input((2,)), keras.Input((3,))
        flat = keras.Model([z, y], keras.layers.Dense(64, activation="sigmoid")(keras.layers.Concatenate()([z, y])))
        layer = PSG(flat, tiny.classifier(), generator_value_range=(0, 1))
        assert tuple(layer(tiny.images(2)).shape) == (2, 8, 8, 1)

    def test_frozen_and_no_gradient(self):
        generator, classifier = tiny.generator(), tiny.classifier()
        layer = PSG(generator, classifier)
        inputs = keras.Input(tiny.SHAPE)
        model = keras.Model(inputs, layer(inputs))
        assert layer.trainable_weights == [] and model.trainable_weights == []
        assert not generator.trainable and not classifier.trainable, "frozen as Keras freezes nested layers"
        x = tf.constant(tiny.images(2))
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = layer(x)
        assert tape.gradient(out, x) is None

    @pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
    def test_mixed_precision_shapes_and_dtypes(self, policy):
        keras.config.set_dtype_policy(policy)
        layer = PSG(tiny.generator(), tiny.conv_classifier())
        out = layer(tiny.images(3))
        assert out.dtype == policy.split("_")[1] and tuple(out.shape) == (3, 8, 8, 1)
        assert layer.soft_labels(tiny.images(3)).dtype == "float32"
        assert np.all(np.isfinite(np.asarray(tf.cast(out, "float32"))))

    def test_compiles_with_xla(self):
        layer = PSG(tiny.generator(), tiny.classifier(), seed=1)
        compiled = tf.function(layer, jit_compile=True)
        out = compiled(tf.constant(tiny.images(3)))
        assert tuple(out.shape) == (3, 8, 8, 1) and np.all(np.isfinite(out))

    def test_serialization_and_saving_keep_models_and_noise_state(self):
        layer = PSG(tiny.generator(), tiny.classifier(), temperature=1.5, seed=2)
        self.run_serialization_test(layer)
        inputs = keras.Input(tiny.SHAPE)
        model = keras.Model(inputs, layer(inputs))
        x = tiny.images(2)
        model.predict(x, verbose=0)
        path = self.tmp_path_str("psg.keras")
        model.save(path)
        revived = keras.models.load_model(path)
        self.assertAllClose(revived.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)


class TestPseudoSSLGeneratorBadInput:
    def test_latent_size_mismatch(self):
        with pytest.raises(ValueError, match=r"latent_dim.*first input \(z\) has size 4.*latent_dim=5"):
            PSG(tiny.generator(latent_dim=4), tiny.classifier(), latent_dim=5)

    def test_classifier_classes_differ_from_generator_labels(self):
        with pytest.raises(ValueError, match=r"source_classifier.*predicts 4 classes.*has size 3"):
            PSG(tiny.generator(classes=3), tiny.classifier(4))

    def test_logits_classifier_without_from_logits(self):
        with pytest.raises(ValueError, match=r"source_classifier.*logits.*from_logits=True"):
            PSG(tiny.generator(), tiny.classifier(activation=None))

    def test_probability_classifier_with_from_logits(self):
        with pytest.raises(ValueError, match=r"source_classifier.*probabilities.*from_logits=False"):
            PSG(tiny.generator(), tiny.classifier(), from_logits=True)

    def test_sigmoid_classifier(self):
        with pytest.raises(ValueError, match=r"source_classifier.*sigmoid"):
            PSG(tiny.generator(), tiny.classifier(activation="sigmoid"))

    def test_probe_detects_logits_of_an_opaque_classifier(self):
        inner = tiny.classifier(activation=None)

        class Opaque(keras.Model):
            def call(self, x):
                return inner(x)

        with pytest.raises(ValueError, match="logits"):
            PSG(tiny.generator(), Opaque(), source_input_shape=(8, 8, 1))

    def test_generator_output_incompatible_with_target_shows_both_shapes(self):
        z, y = keras.Input((2,)), keras.Input((3,))
        rgb = keras.Model([z, y], keras.layers.Reshape((8, 8, 3))(keras.layers.Dense(192)(y)))
        with pytest.raises(ValueError, match=r"generator.*\(8, 8, 3\).*\(8, 8, 2\).*3 channels cannot become 2"):
            PSG(rgb, tiny.classifier(), target_shape=(8, 8, 2))
        layer = PSG(rgb, tiny.classifier(shape=(8, 8, 2)))
        with pytest.raises(ValueError, match=r"generator.*\(8, 8, 3\).*\(8, 8, 2\)"):
            layer(tiny.images(2, shape=(8, 8, 2)))
        flat = keras.Model([z, y], keras.layers.Dense(10)(y))
        with pytest.raises(ValueError, match=r"generator.*\(10,\).*\(8, 8, 1\)"):
            PSG(flat, tiny.classifier(), target_shape=(8, 8, 1))

    def test_generator_not_following_the_protocol(self):
        single = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
        with pytest.raises(ValueError, match=r"number of classes of `generator`"):
            PSG(single, tiny.classifier())

        class Broken:
            latent_dim, num_classes = 2, 3

            def __call__(self, inputs):
                return keras.ops.concatenate(inputs, axis=0)  # wrong: mixes z and y

        with pytest.raises(ValueError, match=r"generator\(\[z, y_soft\]\)` failed.*\(1, 2\).*\(1, 3\)"):
            PSG(Broken(), tiny.classifier())
        with pytest.raises(TypeError, match="generator"):
            PSG("vae", tiny.classifier())
        with pytest.raises(TypeError, match="source_classifier"):
            PSG(tiny.generator(), lambda x: x)

    @pytest.mark.parametrize(
        "kwargs, match",
        [({"temperature": 0}, "temperature"), ({"noise_scale": -1}, "noise_scale"), ({"value_range": (0, 0)}, "value_range")],
    )
    def test_numeric_arguments(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            PSG(tiny.generator(), tiny.classifier(), **kwargs)
