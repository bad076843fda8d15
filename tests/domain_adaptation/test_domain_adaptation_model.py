
import numpy as np
import pytest
import tensorflow as tf

import keras
import keras_transfer as kt
from keras_transfer.domain_adaptation._mlp import run_mlp
from tests.test_case import TestCase

RNG = np.random.default_rng(0)
X_S = RNG.normal(size=(32, 6)).astype("float32")
Y_S = RNG.integers(0, 3, 32)
X_T = RNG.normal(1.0, 1.5, size=(24, 6)).astype("float32")
Y_T = RNG.integers(0, 3, 24)


def parts(batchnorm=True):
    layers = [keras.layers.Dense(8, activation="relu")] + ([keras.layers.BatchNormalization()] if batchnorm else [])
    features = keras.Sequential([keras.Input((6,)), *layers], name="features")
    classifier = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, activation="softmax", dtype="float32")],
                                  name="classifier")
    return features, classifier


ALIGNMENTS = {
    "dann": lambda: kt.layers.DomainAdversarialHead((8,), dropout=0.1),
    "cdan": lambda: kt.layers.ConditionalDomainAdversarialHead((8,), multilinear_dim=12),
    "mmd": lambda: kt.losses.MMD(),
    "coral": lambda: kt.losses.CORAL(),
}


def make_model(kind="dann", batchnorm=True, **kwargs):
    features, classifier = parts(batchnorm)
    return kt.models.DomainAdaptationModel(features, classifier, alignment=ALIGNMENTS[kind](), **kwargs)


def data(batch_size=8, **kwargs):
    return kt.data.domain_adaptation_dataset(source=(X_S, Y_S, *kwargs.pop("weights", ())), target=X_T,
                                             batch_size=batch_size, seed=0, **kwargs)


class TestDomainAdaptationModel(TestCase):
    @pytest.mark.parametrize("kind", sorted(ALIGNMENTS))
    def test_fit_logs_validation_and_save_load_round_trip(self, kind):
        model = make_model(kind, alignment_weight=0.5)
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(data(), epochs=2, validation_data=(X_T, Y_T), verbose=0).history
        expected = {"loss", "task_loss", "alignment_loss", "accuracy", "val_loss", "val_accuracy"}
        if kind in ("dann", "cdan"):
            expected.add("domain_accuracy")
            assert all(0.0 <= a <= 1.0 for a in history["domain_accuracy"])
        assert set(history) == expected
        for loss, task, align in zip(history["loss"], history["task_loss"], history["alignment_loss"]):
            assert loss == pytest.approx(task + 0.5 * align, rel=1e-5)
        # predict/evaluate take plain inputs and give the classifier's output
        predictions = model.predict(X_T, verbose=0)
        self.assertAllClose(predictions, model.classifier(model.feature_extractor(X_T)), atol=1e-6)
        self.assertAllClose(predictions, model.inference_model.predict(X_T, verbose=0), atol=1e-6)
        val_loss, val_acc = model.evaluate(X_T, Y_T, verbose=0)
        assert val_acc == pytest.approx(np.mean(predictions.argmax(-1) == Y_T))
        revived = self.run_model_saving_test(model, X_T)
        assert type(revived.alignment) is type(model.alignment)
        assert revived.alignment.get_config() == model.alignment.get_config()
        if kind in ("dann", "cdan"):
            for saved, loaded in zip(model.alignment.weights, revived.alignment.weights):
                self.assertAllEqual(loaded.numpy(), saved.numpy())

    @pytest.mark.parametrize("joint_forward", [True, False])
    def test_compiled_step_reverses_the_domain_gradient_exactly(self, joint_forward):
        features, classifier = parts(batchnorm=False)
        head = kt.layers.DomainAdversarialHead((4,))  # no dropout: a deterministic step
        model = kt.models.DomainAdaptationModel(features, classifier, alignment=head, joint_forward=joint_forward)
        model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy", jit_compile=True)
        xs, ys, xt = X_S[:8], Y_S[:8], X_T[:6]
        batch = ({"source": xs, "target": xt}, ys)
        model.train_on_batch(*batch)  # builds and traces; now check the next step by hand
        for lam in (1.0, 0.3):  # a new lambda is picked up without retracing
            model.alignment.gradient_reversal.lambda_var.assign(lam)
            fe, head = model.feature_extractor.trainable_weights, model.alignment.trainable_weights
            with tf.GradientTape(persistent=True) as tape:
                f = model.feature_extractor(np.concatenate([xs, xt]))
                task = keras.losses.sparse_categorical_crossentropy(ys, model.classifier(f[:8]))
                task = tf.reduce_mean(task)
                logits = tf.reshape(run_mlp(model.alignment._mlp, model.alignment.domain_logit, f, False), (-1,))
                labels = np.r_[np.ones(8), np.zeros(6)].astype("float32")
                bce = keras.ops.binary_crossentropy(labels, logits, from_logits=True)
                domain = 0.5 * (tf.reduce_mean(bce[:8]) + tf.reduce_mean(bce[8:]))
            expected_fe = [w - 0.1 * (gt - lam * gd) for w, gt, gd in
                           zip(fe, tape.gradient(task, fe), tape.gradient(domain, fe))]
            expected_head = [w - 0.1 * g for w, g in zip(head, tape.gradient(domain, head))]
            logs = model.train_on_batch(*batch, return_dict=True)
            for w, e in zip(fe + head, expected_fe + expected_head):
                self.assertAllClose(w, e, atol=2e-6, msg=w.path)
            assert logs["alignment_loss"] == pytest.approx(float(domain), rel=1e-5)
        assert model.train_function is not None

    def test_parts_without_input_shape_are_built_on_the_first_batch(self):
        features = keras.Sequential([keras.layers.Dense(8, activation="relu")])
        classifier = keras.Sequential([keras.layers.Dense(3, activation="softmax")])
        model = kt.models.DomainAdaptationModel(features, classifier, kt.layers.ConditionalDomainAdversarialHead((4,)))
        assert not model.built
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(data(), epochs=1, verbose=0)
        assert model.built and model.alignment.built
        self.run_model_saving_test(model, X_T)

    def test_joint_or_per_domain_batchnorm_statistics(self):
        for joint_forward, expected in ((True, np.r_[X_S, X_T]), (False, X_T)):
            features = keras.Sequential([keras.Input((6,)), keras.layers.BatchNormalization(momentum=0.0)])
            classifier = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3, activation="softmax")])
            model = kt.models.DomainAdaptationModel(features, classifier, kt.losses.CORAL(), joint_forward=joint_forward)
            model.compile(keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy")
            model.train_on_batch({"source": X_S, "target": X_T}, Y_S)
            # momentum 0: the moving mean is the mean of the last batch the layer normalised
            self.assertAllClose(features.layers[0].moving_mean, expected.mean(axis=0), atol=1e-5)
        with pytest.raises(TypeError, match="`joint_forward`"):
            kt.models.DomainAdaptationModel(features, classifier, kt.losses.CORAL(), joint_forward="yes")

    def test_sample_weight_weights_the_task_loss(self):
        weights = np.where(Y_S == 0, 0.0, RNG.uniform(0.5, 2.0, 32)).astype("float32")
        model = make_model("coral", batchnorm=False, alignment_weight=0.0)
        model.compile(keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy")
        batches = kt.data.domain_adaptation_dataset(source=(X_S, Y_S, weights), target=X_T, batch_size=32,
                                                    shuffle=False)
        logs = model.fit(batches, epochs=1, verbose=0).history
        ce = keras.losses.sparse_categorical_crossentropy(Y_S, model.predict(X_S, verbose=0)).numpy()
        assert logs["task_loss"][0] == pytest.approx(float(np.sum(weights * ce) / 32), rel=1e-5)
        # zero weights everywhere: the task loss gives no gradient, nothing trains
        model = make_model("coral", batchnorm=False, alignment_weight=0.0)
        model.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy")
        before = [w.numpy().copy() for w in model.classifier.weights]
        zero = kt.data.domain_adaptation_dataset(source=(X_S, Y_S, np.zeros(32)), target=X_T, batch_size=8)
        model.fit(zero, epochs=1, verbose=0)
        for b, w in zip(before, model.classifier.weights):
            self.assertAllEqual(w.numpy(), b)

    def test_checkpoint_load_and_continue(self):
        path = self.tmp_path_str("ckpt.keras")
        model = make_model("dann")
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        schedule = kt.callbacks.GradientReversalSchedule("linear", total_steps=8)
        model.fit(data(), epochs=1, callbacks=[keras.callbacks.ModelCheckpoint(path), schedule], verbose=0)
        revived = keras.models.load_model(path)
        self.assertAllClose(revived.predict(X_T, verbose=0), model.predict(X_T, verbose=0), atol=1e-6)
        assert int(revived.optimizer.iterations.numpy()) == 4
        assert float(revived.alignment.gradient_reversal.lambda_var.numpy()) == pytest.approx(3 / 8)
        history = revived.fit(data(), epochs=2, initial_epoch=1, callbacks=[schedule], verbose=0).history
        assert int(revived.optimizer.iterations.numpy()) == 8
        assert history["gradient_reversal_lambda"] == [pytest.approx(7 / 8)]
        inference = self.tmp_path_str("inference.keras")
        revived.inference_model.save(inference)
        plain = keras.models.load_model(inference)
        assert type(plain).__name__ == "Functional" and not isinstance(plain, kt.models.DomainAdaptationModel)
        self.assertAllClose(plain.predict(X_T, verbose=0), revived.predict(X_T, verbose=0), atol=1e-6)

    @pytest.mark.parametrize(
        "policy,kind,jit",
        [("mixed_float16", "dann", True), ("mixed_bfloat16", "mmd", False)]
        + [pytest.param(p, k, j, marks=pytest.mark.large)
           for p in ("mixed_float16", "mixed_bfloat16") for k in ("cdan", "coral", "dann", "mmd") for j in (True, False)
           if (p, k, j) not in {("mixed_float16", "dann", True), ("mixed_bfloat16", "mmd", False)}],
    )
    def test_mixed_precision_finite_losses(self, policy, kind, jit):
        keras.config.set_dtype_policy(policy)
        model = make_model(kind)
        model.compile("adam", "sparse_categorical_crossentropy", jit_compile=jit)
        history = model.fit(data(), epochs=1, verbose=0).history
        assert all(np.isfinite(v[0]) for v in history.values())
        assert model.predict(X_T, verbose=0).dtype == np.float32

    def test_bad_input(self):
        features, classifier = parts()
        with pytest.raises(TypeError, match=r"`alignment`.*DomainAdversarialHead.*MMD.*CORAL.*Received: alignment="):
            kt.models.DomainAdaptationModel(features, classifier, alignment=keras.losses.MeanSquaredError())
        with pytest.raises(TypeError, match=r"`alignment`"):
            kt.models.DomainAdaptationModel(features, classifier, alignment="dann")
        with pytest.raises(TypeError, match=r"`feature_extractor`.*Keras layer"):
            kt.models.DomainAdaptationModel(lambda x: x, classifier, alignment=kt.losses.CORAL())
        with pytest.raises(ValueError, match=r"`alignment_weight`.*>= 0"):
            kt.models.DomainAdaptationModel(features, classifier, alignment=kt.losses.CORAL(), alignment_weight=-1)
        model = kt.models.DomainAdaptationModel(features, classifier, alignment=kt.losses.CORAL())
        model.compile("adam", "sparse_categorical_crossentropy")
        before = [w.numpy().copy() for w in model.weights]
        with pytest.raises(ValueError, match=r"`x`.*'source'.*'target'.*domain_adaptation_dataset"):
            model.fit(X_S, Y_S, epochs=1, verbose=0)  # target missing
        for b, w in zip(before, model.weights):
            self.assertAllEqual(w.numpy(), b)
