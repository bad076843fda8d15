import warnings

import keras
import numpy as np
import pytest

import keras_transfer as kt
from tests.generative import tiny
from tests.test_case import TestCase


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _data(n=6, classes=3):
    return tiny.images(n, seed=3), np.arange(n) % classes


class TestDistiller(TestCase):
    def test_shared_label_space_loss_matches_hinton(self):
        teacher, student = tiny.classifier(3), tiny.classifier(3, activation=None)
        distiller = kt.distill.Distiller(student, teacher, label_space="shared", temperature=2.0, alpha=0.3)
        distiller.compile(optimizer=keras.optimizers.SGD(0.0), jit_compile=True)
        x, y = _data()
        p_t = teacher.predict(x, verbose=0)
        s = student.predict(x, verbose=0)
        q = _softmax(s / 2.0)
        t = _softmax(np.log(p_t) / 2.0)
        kd = 4.0 * (t * (np.log(t) - np.log(q))).sum(-1).mean()
        ce = -np.log(_softmax(s)[np.arange(6), y]).mean()
        history = distiller.fit(x, y, batch_size=6, verbose=0).history
        self.assertAllClose(history["distillation_loss"][0], kd, atol=1e-5)
        self.assertAllClose(history["loss"][0], 0.7 * ce + 0.3 * kd, atol=1e-5)

    def test_auxiliary_head_distils_the_teacher_label_space(self):
        teacher, student = tiny.classifier(5, name="teacher"), tiny.classifier(3, name="student")
        distiller = kt.distill.Distiller(student, teacher, label_space="auxiliary", temperature=1.0, alpha=1.0)
        assert distiller.auxiliary_head.units == 5
        trained = {id(v) for v in distiller.trainable_variables}
        assert trained == {id(v) for v in student.trainable_variables + distiller.auxiliary_head.trainable_variables}
        distiller.compile(optimizer=keras.optimizers.Adam(0.05))
        x = tiny.images(32, seed=4)
        teacher_before = tiny.weights_of(teacher)
        history = distiller.fit(x, np.zeros(32), batch_size=16, epochs=30, verbose=0).history
        assert history["distillation_loss"][-1] < 0.5 * history["distillation_loss"][0]
        assert not tiny.changed(teacher_before, teacher)
        hidden = keras.Model(student.inputs, student.get_layer("hidden").output).predict(x, verbose=0)
        head = distiller.auxiliary_head
        mimic = _softmax(hidden @ np.array(head.kernel) + np.array(head.bias))
        agreement = (mimic.argmax(-1) == teacher.predict(x, verbose=0).argmax(-1)).mean()
        assert agreement > 0.8, "the auxiliary head reproduces the teacher's predictions"
        assert distiller.predict(x, verbose=0).shape == (32, 3)

    def test_teacher_inputs_are_adapted(self):
        teacher = tiny.classifier(4, shape=(16, 16, 3))
        distiller = kt.distill.Distiller(tiny.classifier(2), teacher, label_space="auxiliary")
        x, _ = _data(2)
        import tensorflow as tf

        expected = teacher.predict(np.repeat(tf.image.resize(x, (16, 16)).numpy(), 3, -1), verbose=0)
        t = _softmax(np.log(expected) / 4.0)
        self.assertAllClose(distiller.teacher_probabilities(x), t, atol=1e-5)

    def test_fit_contract_and_checkpoint_reload(self):
        student = tiny.classifier(2)
        distiller = kt.distill.Distiller(student, tiny.classifier(4), label_space="auxiliary", feature_layer="hidden")
        distiller.compile(optimizer="adam", metrics=["accuracy"])
        x, y = _data(6, 2)
        path = self.tmp_path_str("distiller.keras")
        history = distiller.fit(x, y, batch_size=3, epochs=1, validation_data=(x, y), verbose=0,
                                callbacks=[keras.callbacks.ModelCheckpoint(path)]).history
        assert sorted(history) == ["accuracy", "distillation_loss", "loss", "val_accuracy", "val_loss"]
        revived = keras.models.load_model(path)
        assert isinstance(revived, kt.distill.Distiller) and revived.feature_layer == "hidden"
        self.assertAllClose(revived.predict(x, verbose=0), distiller.predict(x, verbose=0))
        self.assertAllClose(revived.auxiliary_head.kernel, distiller.auxiliary_head.kernel)
        revived.fit(x, y, batch_size=3, epochs=1, verbose=0)
        assert int(revived.optimizer.iterations.numpy()) == 4

    def test_sample_weight_weights_both_terms(self):
        student = tiny.classifier(2)
        distiller = kt.distill.Distiller(student, tiny.classifier(4), label_space="auxiliary")
        distiller.compile(optimizer=keras.optimizers.SGD(0.5))
        x, y = _data(6, 2)
        before = tiny.weights_of(student) + tiny.weights_of(distiller.auxiliary_head)
        distiller.fit(x, y, sample_weight=np.zeros(6), batch_size=6, verbose=0)
        assert not tiny.changed(before[:4], student)
        assert all(np.array_equal(b, np.array(v)) for b, v in zip(before[4:], distiller.auxiliary_head.weights))
        distiller.fit(x, y, sample_weight=np.ones(6), batch_size=6, verbose=0)
        assert tiny.changed(before[:4], student)

    def test_unlabelled_transfer_set(self):
        teacher, student = tiny.classifier(3, name="teacher"), tiny.classifier(3, name="student")
        distiller = kt.distill.Distiller(student, teacher, label_space="shared", alpha=1.0, temperature=1.0)
        distiller.compile(optimizer=keras.optimizers.Adam(0.05), metrics=["accuracy"], jit_compile=True)
        x = tiny.images(32, seed=5)
        history = distiller.fit(x, batch_size=16, epochs=30, verbose=0).history
        assert set(history) == {"loss", "distillation_loss"}
        assert history["distillation_loss"][-1] < 0.5 * history["distillation_loss"][0]
        agreement = (student.predict(x, verbose=0).argmax(-1) == teacher.predict(x, verbose=0).argmax(-1)).mean()
        assert agreement > 0.8
        import tensorflow as tf

        labels = teacher.predict(x, verbose=0).argmax(-1)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            history = distiller.fit(
                tf.data.Dataset.from_tensor_slices(x).batch(16), epochs=2, validation_data=(x, labels), verbose=0
            ).history
        assert not [w for w in caught if "shuffle" in str(w.message)], "no Keras warning about shuffle=True"
        assert set(history) == {"loss", "distillation_loss", "val_loss", "val_accuracy"}
        assert history["val_accuracy"][-1] > 0.8

    def test_unlabelled_inputs_need_alpha_one(self):
        distiller = kt.distill.Distiller(tiny.classifier(3), tiny.classifier(3), label_space="shared", alpha=0.7)
        distiller.compile(optimizer="adam")
        x = tiny.images(4, seed=6)
        with pytest.raises(ValueError, match=r"`y`.*alpha=0.7.*Received: y=None.*alpha=1.0"):
            distiller.fit(x, verbose=0)
        import tensorflow as tf

        with pytest.raises(ValueError, match=r"`y`.*alpha=0.7.*alpha=1.0"):
            distiller.fit(tf.data.Dataset.from_tensor_slices(x).batch(2), verbose=0)

    @pytest.mark.parametrize("policy, jit", tiny.PRECISION_AXES)
    def test_mixed_precision(self, policy, jit):
        keras.config.set_dtype_policy(policy)
        distiller = kt.distill.Distiller(tiny.conv_classifier(2), tiny.conv_classifier(3), label_space="auxiliary")
        distiller.compile(optimizer="adam", jit_compile=jit)
        x, y = _data(4, 2)
        history = distiller.fit(x, y, batch_size=4, verbose=0).history
        assert all(np.isfinite(v[0]) for v in history.values())
        assert distiller.predict(x, verbose=0).dtype == np.float32

    def test_keras_logits_distillation(self):
        teacher, student = tiny.classifier(3), tiny.classifier(3, activation=None)
        x, y = _data()

        def first_loss(**kwargs):
            distiller = kt.distill.Distiller(student, teacher, label_space="shared", alpha=1.0, **kwargs)
            distiller.compile(optimizer=keras.optimizers.SGD(0.0))
            return distiller.fit(x, y, batch_size=6, verbose=0).history["distillation_loss"][0]

        # A KLDivergence instance: softmax(t / T) of the teacher's log-probabilities, times T^2,
        # so a softmax teacher is not softmaxed twice and the term equals the built-in one.
        kl = keras.distillation.LogitsDistillation(temperature=2.0, loss=keras.losses.KLDivergence())
        self.assertAllClose(first_loss(distillation_loss=kl), first_loss(temperature=2.0), atol=1e-6)
        # Any other loss gets the tempered log-probabilities themselves (Keras's rule for
        # logits; log-softmax normalises the student's logits, so both sides are comparable).
        mse = keras.distillation.LogitsDistillation(temperature=2.0, loss="mse")
        t = np.log(teacher.predict(x, verbose=0)) / 2.0
        s = np.log(_softmax(student.predict(x, verbose=0))) / 2.0
        self.assertAllClose(first_loss(distillation_loss=mse), ((t - s) ** 2).mean(), atol=1e-5)

    def test_keras_feature_distillation_across_label_spaces(self):
        teacher, student = tiny.classifier(5, name="teacher"), tiny.classifier(2, name="student")
        loss = keras.distillation.FeatureDistillation(teacher_layer_name="hidden", student_layer_name="hidden")
        distiller = kt.distill.Distiller(student, teacher, label_space="auxiliary", alpha=0.9, distillation_loss=loss)
        assert distiller.auxiliary_head is None, "feature matching needs no auxiliary head"
        assert {id(v) for v in distiller.trainable_variables} == {id(v) for v in student.trainable_variables}
        x = tiny.images(32, seed=4)

        def hidden(model):
            return keras.Model(model.inputs, model.get_layer("hidden").output).predict(x, verbose=0)

        expected = ((hidden(teacher) - hidden(student)) ** 2).mean()
        teacher_before = tiny.weights_of(teacher)
        distiller.compile(optimizer=keras.optimizers.Adam(0.02))
        history = distiller.fit(x, np.arange(32) % 2, batch_size=32, epochs=40, verbose=0).history
        self.assertAllClose(history["distillation_loss"][0], expected, atol=1e-4)
        assert history["distillation_loss"][-1] < 0.5 * history["distillation_loss"][0]
        assert not tiny.changed(teacher_before, teacher)
        path = self.tmp_path_str("feature.keras")
        distiller.save(path)
        revived = keras.models.load_model(path)
        assert isinstance(revived.distillation_loss, keras.distillation.FeatureDistillation)
        assert revived.distillation_loss.teacher_layer_name == "hidden"
        self.assertAllClose(revived.predict(x, verbose=0), distiller.predict(x, verbose=0))
        revived.compile(optimizer="adam")
        assert np.isfinite(revived.fit(x, np.zeros(32), batch_size=16, verbose=0).history["distillation_loss"][0])

class TestDistillerBadInput:
    def test_label_space_is_required_and_checked(self):
        with pytest.raises(TypeError, match="label_space"):
            kt.distill.Distiller(tiny.classifier(3), tiny.classifier(3))
        with pytest.raises(ValueError, match=r'"shared" needs the same classes.*teacher predicts 5.*student 3'):
            kt.distill.Distiller(tiny.classifier(3), tiny.classifier(5), label_space="shared")
        with pytest.raises(ValueError, match=r"label_space.*'auxiliary'"):
            kt.distill.Distiller(tiny.classifier(3), tiny.classifier(5), label_space="auxilary")

    def test_feature_layer(self):
        with pytest.raises(ValueError, match=r"feature_layer.*'hidden'"):
            kt.distill.Distiller(tiny.classifier(3), tiny.classifier(5), label_space="auxiliary", feature_layer="hiden")
        conv = tiny.conv_classifier(3)
        with pytest.raises(ValueError, match=r"feature_layer.*flat features.*\(None, 6, 6, 4\)"):
            kt.distill.Distiller(conv, tiny.classifier(5), label_space="auxiliary", feature_layer=conv.layers[2].name)

    def test_teacher_input_and_output(self):
        with pytest.raises(ValueError, match=r"teacher.*\(8, 8, 2\).*\(8, 8, 1\)"):
            kt.distill.Distiller(tiny.classifier(3, shape=(8, 8, 2)), tiny.classifier(3, shape=(8, 8, 1)), label_space="shared")
        with pytest.raises(ValueError, match=r"teacher.*sigmoid"):
            kt.distill.Distiller(tiny.classifier(3), tiny.classifier(3, activation="sigmoid"), label_space="shared")
        with pytest.raises(ValueError, match="alpha"):
            kt.distill.Distiller(tiny.classifier(3), tiny.classifier(3), label_space="shared", alpha=2.0)

    def test_distillation_loss(self):
        with pytest.raises(TypeError, match=r"distillation_loss.*DistillationLoss.*Received: distillation_loss='kl'"):
            kt.distill.Distiller(tiny.classifier(3), tiny.classifier(3), label_space="shared", distillation_loss="kl")
        with pytest.raises(ValueError, match=r"distillation_loss.*kl_divergence.*without a softmax.*KLDivergence\(\)"):
            kt.distill.Distiller(tiny.classifier(3), tiny.classifier(3), label_space="shared",
                                 distillation_loss=keras.distillation.LogitsDistillation(temperature=2.0))
        features = keras.distillation.FeatureDistillation
        student = tiny.classifier(2)
        flatten = student.layers[1].name
        with pytest.raises(ValueError, match=rf"distillation_loss.*same shape.*'{flatten}'.*\(64,\).*'hidden'.*\(6,\)"):
            kt.distill.Distiller(student, tiny.classifier(3), label_space="auxiliary",
                                 distillation_loss=features(teacher_layer_name="hidden", student_layer_name=flatten))
        with pytest.raises(ValueError, match=r"distillation_loss.*no layer of the teacher.*teacher_layer_name='hiden'.*Did you mean 'hidden'"):
            kt.distill.Distiller(tiny.classifier(2), tiny.classifier(3), label_space="auxiliary",
                                 distillation_loss=features(teacher_layer_name="hiden", student_layer_name="hidden"))
        with pytest.raises(ValueError, match=r"feature_layer.*FeatureDistillation"):
            kt.distill.Distiller(tiny.classifier(2), tiny.classifier(3), label_space="auxiliary", feature_layer="hidden",
                                 distillation_loss=features(teacher_layer_name="hidden", student_layer_name="hidden"))
