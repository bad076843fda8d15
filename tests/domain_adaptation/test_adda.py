import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

import keras_transfer as kt
from tests.test_case import TestCase


def blobs(n, shift, seed):
    """Two Gaussian classes at (-2, 0) and (2, 0), moved by `shift`."""
    y = np.arange(n) % 2
    x = np.random.default_rng(seed).normal(0, 0.5, (n, 2)) + np.where(y[:, None] == 1, [2.0, 0.0], [-2.0, 0.0])
    return (x + shift).astype("float32"), y


X_S, Y_S = blobs(128, [0.0, 0.0], 0)
X_T, Y_T = blobs(128, [1.5, 1.5], 1)  # the source boundary x = 0 misclassifies a part of the target


def source_model(seed=1, batchnorm=False, epochs=5):
    """Stage 1: a linear feature extractor + softmax classifier trained on the source."""
    keras.utils.set_random_seed(seed)
    layers = [keras.layers.Dense(4)] + ([keras.layers.BatchNormalization()] if batchnorm else [])
    features = keras.Sequential([keras.Input((2,)), *layers], name="features")
    classifier = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")], name="classifier")
    model = keras.Sequential([features, classifier])
    model.compile(keras.optimizers.Adam(3e-2), "sparse_categorical_crossentropy")
    model.fit(X_S, Y_S, epochs=epochs, batch_size=32, verbose=0)
    return features, classifier


def discriminator():
    return keras.Sequential([keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)], name="disc")


def data(batch_size=16, weights=()):
    return kt.data.domain_adaptation_dataset(source=(X_S, Y_S, *weights), target=X_T, batch_size=batch_size, seed=0)


def accuracy(predictions):
    return float(np.mean(np.asarray(predictions).argmax(-1) == Y_T))


class TestADDA(TestCase):
    def test_one_step_follows_the_inverted_label_gan_objective(self):
        features, classifier = source_model(epochs=1)
        adda = kt.models.ADDA(features, classifier, discriminator=discriminator(),
                              discriminator_optimizer=keras.optimizers.SGD(0.05))
        adda.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
        xs, xt, w = X_S[:8], X_T[:8], np.linspace(0.0, 2.0, 8).astype("float32")
        target_before = [v.numpy() for v in adda.target_feature_extractor.trainable_variables]
        disc_before = [v.numpy() for v in adda.discriminator.trainable_variables]
        # The expected step, by hand: both gradients from the same forward pass.
        with tf.GradientTape(persistent=True) as tape:
            d_s = adda.discriminator(features(xs))[:, 0]
            d_t = adda.discriminator(adda.target_feature_extractor(xt))[:, 0]
            disc_loss = -ops.mean(w * ops.log(ops.sigmoid(d_s))) - ops.mean(ops.log(1 - ops.sigmoid(d_t)))
            mapping_loss = -ops.mean(ops.log(ops.sigmoid(d_t)))  # inverted labels: target called source
        target_grads = tape.gradient(mapping_loss, adda.target_feature_extractor.trainable_variables)
        disc_grads = tape.gradient(disc_loss, adda.discriminator.trainable_variables)
        logs = adda.train_on_batch({"source": xs, "target": xt}, Y_S[:8], sample_weight=w, return_dict=True)
        assert logs["loss"] == pytest.approx(float(mapping_loss), rel=1e-5)
        assert logs["discriminator_loss"] == pytest.approx(float(disc_loss), rel=1e-5)
        for before, grad, after in zip(target_before, target_grads, adda.target_feature_extractor.trainable_variables):
            self.assertAllClose(after.numpy(), before - 0.1 * grad.numpy(), atol=1e-6)
        for before, grad, after in zip(disc_before, disc_grads, adda.discriminator.trainable_variables):
            self.assertAllClose(after.numpy(), before - 0.05 * grad.numpy(), atol=1e-6)

    def test_target_features_fool_a_fixed_discriminator(self):
        features, classifier = source_model(epochs=1)
        disc = discriminator()
        adda = kt.models.ADDA(features, classifier, discriminator=disc, discriminator_optimizer=keras.optimizers.SGD(0.0))
        # The discriminator first learns to tell the domains apart (the source model fixed) ...
        probe = kt.models.ADDA(features, classifier, discriminator=disc, discriminator_optimizer=keras.optimizers.Adam(1e-2))
        probe.compile(keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy")
        probe.fit(data(), epochs=5, verbose=0)

        def called_target(extractor):
            return float(np.mean(ops.convert_to_numpy(disc(extractor(X_T)))[:, 0] < 0))

        assert called_target(features) > 0.9
        # ... then, the discriminator fixed, the target feature extractor learns to pass as source.
        adda.compile(keras.optimizers.Adam(3e-2), "sparse_categorical_crossentropy")
        adda.fit(data(), epochs=3, verbose=0)
        assert called_target(adda.target_feature_extractor) < 0.1

    def test_adapts_a_shifted_toy_and_leaves_the_source_model_bitwise_unchanged(self):
        features, classifier = source_model(seed=1, batchnorm=True)
        source_only = accuracy(keras.Sequential([features, classifier]).predict(X_T, verbose=0))
        frozen = [v.numpy().copy() for v in [*features.weights, *classifier.weights]]  # BN statistics included
        adda = kt.models.ADDA(features, classifier, discriminator=discriminator())
        adda.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
        history = adda.fit(data(), epochs=20, validation_data=(X_T, Y_T), verbose=0).history
        assert set(history) == {"loss", "discriminator_loss", "domain_accuracy", "accuracy", "val_loss", "val_accuracy"}
        assert source_only < 0.9 and accuracy(adda.predict(X_T, verbose=0)) > source_only + 0.05
        assert history["val_accuracy"][-1] == pytest.approx(accuracy(adda.predict(X_T, verbose=0)))
        for before, after in zip(frozen, [*features.weights, *classifier.weights]):
            self.assertAllEqual(after.numpy(), before)
        assert not np.array_equal(adda.target_feature_extractor.weights[0].numpy(), frozen[0])

    def test_sample_weight_metrics_and_save_load_round_trip(self):
        features, classifier = source_model(epochs=1)
        adda = kt.models.ADDA(features, classifier)  # the default discriminator: 500-500-1
        adda.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        assert [layer.units for layer in adda.discriminator.layers] == [500, 500, 1]
        # Zero source weights: the discriminator's loss is its target term alone, -log(1 - D(f_t)).
        d_t = ops.convert_to_numpy(adda.discriminator(adda.target_feature_extractor(X_T[:8])))[:, 0]
        logs = adda.train_on_batch({"source": X_S[:8], "target": X_T[:8]}, Y_S[:8], sample_weight=np.zeros(8),
                                   return_dict=True)
        assert logs["discriminator_loss"] == pytest.approx(np.mean(np.log1p(np.exp(d_t))), rel=1e-5)
        adda.fit(data(), epochs=1, verbose=0)
        assert adda.discriminator_optimizer.iterations.numpy() == adda.optimizer.iterations.numpy() == 9
        self.assertAllClose(adda.predict(X_T, verbose=0), adda.inference_model.predict(X_T, verbose=0), atol=1e-6)
        revived = self.run_model_saving_test(adda, X_T)
        assert json.loads(json.dumps(revived.get_config())) == json.loads(json.dumps(adda.get_config()))
        for saved, loaded in zip(adda.discriminator_optimizer.variables, revived.discriminator_optimizer.variables):
            self.assertAllEqual(loaded.numpy(), saved.numpy())
        for saved, loaded in zip(adda.feature_extractor.weights, revived.feature_extractor.weights):
            self.assertAllEqual(loaded.numpy(), saved.numpy())

    @pytest.mark.large  # XLA compilation of the step (~15 s on 2 cores)
    def test_compiled_step_equals_eager_step(self):
        runs = []
        for jit in (False, True):
            features, classifier = source_model(epochs=1)
            keras.utils.set_random_seed(0)
            adda = kt.models.ADDA(features, classifier, discriminator=discriminator())
            adda.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy", jit_compile=jit)
            adda.fit(data(), epochs=1, verbose=0)
            runs.append([v.numpy() for v in adda.weights])
        for eager, compiled in zip(*runs):
            self.assertAllClose(eager, compiled, atol=1e-5, rtol=1e-5)


def _parts():
    return source_model(epochs=1)


@pytest.mark.parametrize(
    "make, error, pattern",
    [
        (lambda: kt.models.ADDA(keras.Sequential([keras.layers.Dense(4)]), _parts()[1]), ValueError,
         r"`feature_extractor`.*built functional or Sequential model, trained on the source.*built=False"),
        (lambda: kt.models.ADDA("features", _parts()[1]), TypeError, r"`feature_extractor`.*Keras model"),
        (lambda: kt.models.ADDA(*_parts(), discriminator=keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])),
         ValueError, r"`discriminator`.*one unbounded score.*sigmoid"),
        (lambda: kt.models.ADDA(*_parts(), target_feature_extractor=keras.Sequential([keras.Input((2,)),
                                                                                      keras.layers.Dense(3)])),
         ValueError, r"`target_feature_extractor`.*output shape of `feature_extractor`, \(None, 4\)"),
        (lambda: kt.models.ADDA(*_parts(), discriminator_optimizer="not an optimizer"), ValueError,
         r"Could not interpret optimizer"),
    ],
)
def test_bad_arguments_are_named(make, error, pattern):
    with pytest.raises(error, match=pattern):
        make()


def test_bad_training_data_is_named_before_training():
    adda = kt.models.ADDA(*_parts(), discriminator=discriminator())
    adda.compile("adam", "sparse_categorical_crossentropy")
    before = [w.numpy().copy() for w in adda.weights]
    with pytest.raises(ValueError, match=r"`x`.*'source'.*'target'.*Received: x='ndarray"):
        adda.fit(X_S, Y_S, verbose=0)  # the target is missing
    with pytest.raises(ValueError, match=r"`sample_weight`.*non-negative.*Received: sample_weight='weights from -1"):
        adda.fit({"source": X_S, "target": X_T}, Y_S, sample_weight=-np.ones(128), verbose=0)
    with pytest.raises(ValueError, match=r"`sample_weight`.*one weight per source example \(128\)"):
        adda.fit({"source": X_S, "target": X_T}, Y_S, sample_weight=np.ones(100), verbose=0)
    assert all(np.array_equal(w.numpy(), b) for w, b in zip(adda.weights, before))
