"""`MarginDisparityHead` (MDD) in `DomainAdaptationModel`: the loss formula, the update, fit and saving."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_transfer as kt
from keras_transfer.domain_adaptation.margin_disparity_head import EPSILON
from keras_transfer.domain_adaptation.margin_disparity_head import margin_disparity_loss
from tests.test_case import TestCase

RNG = np.random.default_rng(0)
X_S = RNG.normal(size=(32, 6)).astype("float32")
Y_S = RNG.integers(0, 3, 32)
X_T = RNG.normal(1.0, 1.5, size=(24, 6)).astype("float32")
Y_T = RNG.integers(0, 3, 24)


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def numpy_mdd(aux_logits, predictions, n_source, margin):
    """margin * mean_s(-log p'_s[y_hat]) + mean_t(-log(1 - p'_t[y_hat] + eps)), y_hat = argmax f."""
    p = softmax(aux_logits.astype("float64"))
    chosen = p[np.arange(len(p)), predictions.argmax(-1)]
    return margin * np.mean(-np.log(chosen[:n_source])) + np.mean(-np.log(1.0 - chosen[n_source:] + EPSILON))


def make_model(head=None, **kwargs):
    features = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="tanh")], name="features")
    classifier = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, activation="softmax", dtype="float32")],
                                  name="classifier")
    head = head or kt.layers.MarginDisparityHead((5,), margin=3.0)
    return kt.models.DomainAdaptationModel(features, classifier, alignment=head, **kwargs)


def data(batch_size=8):
    return kt.data.domain_adaptation_dataset(source=(X_S, Y_S), target=X_T, batch_size=batch_size, seed=0)


class TestMarginDisparityHead(TestCase):
    def test_loss_equals_its_formula(self):
        head = kt.layers.MarginDisparityHead(hidden_units=(), margin=4.0)
        features = RNG.normal(size=(7, 4)).astype("float32")
        predictions = softmax(RNG.normal(size=(7, 3))).astype("float32")
        head.build([(None, 4), (None, 3)])
        kernel = RNG.normal(0, 3.0, size=(4, 3)).astype("float32")  # confident: some p' near 1 on the target
        head.class_logits.set_weights([kernel, np.zeros(3, "float32")])
        logits = features @ kernel
        self.assertAllClose(head([features, predictions]), logits, atol=1e-5)
        loss, _ = margin_disparity_loss(head, features, predictions, 3, False, None)
        assert float(loss) == pytest.approx(numpy_mdd(logits, predictions, 3, 4.0), rel=1e-5)
        # the target term is -log(1 - p'), shifted by eps: finite where p'(y_hat) is 1 in float32
        agree, disagree = head.disparities(np.array([[1.0, 0.0]], "float32"), np.array([[60.0, 0.0]], "float32"))
        assert float(agree[0]) == pytest.approx(0.0, abs=1e-6)
        assert float(disagree[0]) == pytest.approx(-np.log(EPSILON), rel=1e-4)

    def test_model_step_is_task_plus_weighted_disparity_with_the_reversed_gradient(self):
        lam, weight, lr = 0.3, 0.5, 0.1
        head = kt.layers.MarginDisparityHead((5,), lambda_=lam, margin=3.0)
        model = make_model(head, alignment_weight=weight, joint_forward=False)
        model.compile(keras.optimizers.SGD(lr), "sparse_categorical_crossentropy", jit_compile=True)
        xs, ys, xt = X_S[:8], Y_S[:8], X_T[:6]
        batch = ({"source": xs, "target": xt}, ys)
        model.train_on_batch(*batch)  # builds and traces
        fe, clf, aux = (model.feature_extractor.trainable_weights, model.classifier.trainable_weights,
                        head.trainable_weights)
        with tf.GradientTape(persistent=True) as tape:
            f = tf.concat([model.feature_extractor(xs), model.feature_extractor(xt)], 0)
            predictions = model.classifier(f)
            task = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(ys, predictions[:8]))
            x = f
            for layer in head._mlp:
                x = layer(x)
            logits = head.class_logits(x)
            p = tf.nn.softmax(logits)
            chosen = tf.gather(p, tf.argmax(tf.stop_gradient(predictions), -1), batch_dims=1)
            disparity = 3.0 * tf.reduce_mean(-tf.math.log(chosen[:8])) + tf.reduce_mean(
                -tf.math.log(1.0 - chosen[8:] + EPSILON))
        expected = (
            [w - lr * (gt - lam * weight * gd) for w, gt, gd in zip(fe, tape.gradient(task, fe),
                                                                   tape.gradient(disparity, fe))]
            + [w - lr * g for w, g in zip(clf, tape.gradient(task, clf))]  # no gradient through argmax
            + [w - lr * weight * g for w, g in zip(aux, tape.gradient(disparity, aux))]
        )
        numpy_value = numpy_mdd(logits.numpy(), predictions.numpy(), 8, 3.0)
        logs = model.train_on_batch(*batch, return_dict=True)
        assert logs["alignment_loss"] == pytest.approx(numpy_value, rel=1e-4)
        assert logs["loss"] == pytest.approx(float(task) + weight * numpy_value, rel=1e-4)
        for w, e in zip(fe + clf + aux, expected):
            self.assertAllClose(w, e, atol=2e-6, msg=w.path)

    def test_the_auxiliary_classifier_learns_to_agree_on_the_source_and_disagree_on_the_target(self):
        keras.utils.set_random_seed(0)
        model = make_model(kt.layers.MarginDisparityHead((16,)))
        model.feature_extractor.trainable = model.classifier.trainable = False  # f' alone trains
        model.compile(keras.optimizers.Adam(0.02), "sparse_categorical_crossentropy")
        history = model.fit(data(), epochs=15, verbose=0).history
        assert history["alignment_loss"][-1] < 0.5 * history["alignment_loss"][0]
        features = model.feature_extractor(np.r_[X_S, X_T])
        predictions = model.classifier(features)
        same = model.alignment([features, predictions]).numpy().argmax(-1) == predictions.numpy().argmax(-1)
        # the domains overlap (the target is a wider, shifted Gaussian): a gap, not a perfect split
        source, target = same[:32].mean(), same[32:].mean()
        assert source > 0.8 and target < source - 0.3, (source, target)

    def test_fit_validation_schedule_and_save_load(self):
        model = make_model()
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        schedule = kt.callbacks.GradientReversalSchedule("linear", max_value=0.5, total_steps=8)
        history = model.fit(data(), epochs=2, validation_data=(X_T, Y_T), callbacks=[schedule], verbose=0).history
        assert set(history) == {"loss", "task_loss", "alignment_loss", "accuracy", "val_loss", "val_accuracy",
                                "gradient_reversal_lambda"}
        assert float(model.alignment.gradient_reversal.lambda_var.numpy()) == pytest.approx(0.5 * 7 / 8)
        revived = self.run_model_saving_test(model, X_T)
        assert isinstance(revived.alignment, kt.layers.MarginDisparityHead)
        assert revived.alignment.get_config() == model.alignment.get_config()
        for saved, loaded in zip(model.alignment.weights, revived.alignment.weights):
            self.assertAllEqual(loaded.numpy(), saved.numpy())

    def test_bad_input(self):
        with pytest.raises(ValueError, match=r"`margin`.*>= 0.*Received: margin=-1"):
            kt.layers.MarginDisparityHead(margin=-1.0)
        with pytest.raises(TypeError, match=r"`hidden_units`"):
            kt.layers.MarginDisparityHead(hidden_units="wide")
        with pytest.raises(ValueError, match=r"`lambda_`"):
            kt.layers.MarginDisparityHead(lambda_=-0.1)
        with pytest.raises(ValueError, match=r"`inputs`.*at least 2 classes"):
            kt.layers.MarginDisparityHead().build([(None, 4), (None, 1)])
        with pytest.raises(ValueError, match=r"`inputs`.*\[features"):
            kt.layers.MarginDisparityHead().build((None, 4))
        model = make_model()
        model.compile("adam", "sparse_categorical_crossentropy")
        before = [w.numpy().copy() for w in model.weights]
        with pytest.raises(ValueError, match=r"`x`.*domain_adaptation_dataset"):
            model.fit(X_S, Y_S, verbose=0)
        batches = {"source": X_S, "target": X_T[:8].repeat(4, axis=0)}
        with pytest.raises(ValueError, match=r"`sample_weight`.*non-negative"):
            model.fit(batches, Y_S, sample_weight=np.full(32, -1.0), verbose=0)
        with pytest.raises(ValueError, match=r"`sample_weight`.*\(32\)"):
            model.fit(batches, Y_S, sample_weight=np.ones(31), verbose=0)
        for b, w in zip(before, model.weights):
            self.assertAllEqual(w.numpy(), b)
