"""Distillation between text models: raw strings in, each model reads its own tokens."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_transfer as kt
from tests.generative import tiny
from tests.test_case import TestCase
from tests.text.tiny_preset import make_tiny_preset, sentiment_texts


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.fixture(scope="module")
def short_preset(tmp_path_factory):
    """Another tokenization: 8 tokens instead of 12, one transformer layer, no dropout."""
    return make_tiny_preset(
        str(tmp_path_factory.mktemp("tiny_bert_short")), seed=11, dropout=0.0, sequence_length=8, num_layers=1
    )


def _weights(model):
    return [np.array(v) for v in model.weights]


class TestTextDistillation(TestCase):
    def test_different_tokenizers_loss_matches_hinton_under_xla(self, tiny_preset_no_dropout, short_preset):
        texts, labels = sentiment_texts(8, seed=1)
        teacher = kt.build_text_classifier(tiny_preset_no_dropout, 2, freeze=False)
        student = kt.build_text_classifier(short_preset, 2, freeze=False, activation=None)
        distiller = kt.distill.Distiller(student, teacher, label_space="shared", temperature=2.0, alpha=0.3)
        tokens = distiller._tokenize(tf.constant(texts))
        assert tokens["student"]["token_ids"].shape == (8, 8)
        assert tokens["teacher"]["token_ids"].shape == (8, 12)
        p_t = teacher.predict(texts, verbose=0)
        s = student.predict(texts, verbose=0)
        t, q = _softmax(np.log(p_t) / 2.0), _softmax(s / 2.0)
        kd = 4.0 * (t * (np.log(t) - np.log(q))).sum(-1).mean()
        ce = -np.log(_softmax(s)[np.arange(8), labels]).mean()
        teacher_before = _weights(teacher)
        distiller.compile(optimizer=keras.optimizers.SGD(0.0), jit_compile=True)
        history = distiller.fit(texts, labels, batch_size=8, shuffle=False, verbose=0).history
        self.assertAllClose(history["distillation_loss"][0], kd, atol=1e-5)
        self.assertAllClose(history["loss"][0], 0.7 * ce + 0.3 * kd, atol=1e-5)
        self.assertAllClose(distiller.predict(texts, verbose=0), s, atol=1e-5)
        self.assertAllClose(distiller.teacher_probabilities(texts), t, atol=1e-5)
        for before, after in zip(teacher_before, _weights(teacher)):
            np.testing.assert_array_equal(before, after)

    @pytest.mark.large  # slow (15-25 s); the feature keeps default tests
    def test_shared_tokenizer_tokenizes_once_and_trains_the_student(self, tiny_preset_no_dropout):
        texts, labels = sentiment_texts(16, seed=2)
        teacher = kt.build_text_classifier(tiny_preset_no_dropout, 2, freeze=False)
        student = kt.build_text_classifier(tiny_preset_no_dropout, 2, freeze=False, name="student")
        distiller = kt.distill.Distiller(student, teacher, label_space="shared")
        assert set(distiller._tokenize(tf.constant(texts))) == {"student"}
        student_before, teacher_before = _weights(student), _weights(teacher)
        distiller.compile(optimizer=keras.optimizers.Adam(1e-2), metrics=["accuracy"])
        history = distiller.fit(texts, labels, batch_size=8, epochs=2, verbose=0,
                                validation_data=(texts[:4], labels[:4])).history
        assert {"loss", "distillation_loss", "accuracy", "val_loss", "val_accuracy"} <= set(history)
        assert any(not np.array_equal(b, a) for b, a in zip(student_before, _weights(student)))
        for before, after in zip(teacher_before, _weights(teacher)):
            np.testing.assert_array_equal(before, after)
        logs = distiller.evaluate(texts, labels, verbose=0, return_dict=True)
        self.assertAllClose(logs["accuracy"], (student.predict(texts, verbose=0).argmax(-1) == labels).mean())
        path = self.tmp_path_str("text_distiller.keras")
        distiller.save(path)
        revived = keras.models.load_model(path)
        assert revived._text and revived._shared_tokens
        self.assertAllClose(revived.predict(texts, verbose=0), student.predict(texts, verbose=0), atol=1e-5)
        revived.fit(texts, labels, batch_size=8, verbose=0)  # compiled from the saved config, continues

    @pytest.mark.filterwarnings("ignore:Gradients do not exist:UserWarning")  # the student's head needs labels
    def test_unlabelled_transfer_set_and_auxiliary_head(self, tiny_preset_no_dropout, short_preset):
        texts, _ = sentiment_texts(32, seed=3)
        teacher = kt.build_text_classifier(tiny_preset_no_dropout, 3, freeze=False)
        student = kt.build_text_classifier(short_preset, 2, freeze=False)
        distiller = kt.distill.Distiller(student, teacher, label_space="auxiliary", alpha=1.0, temperature=1.0)
        assert distiller.auxiliary_head.units == 3
        distiller.compile(optimizer=keras.optimizers.Adam(3e-2))
        history = distiller.fit(texts, batch_size=32, epochs=8, verbose=0).history
        assert set(history) == {"loss", "distillation_loss"}
        assert history["distillation_loss"][-1] < 0.5 * history["distillation_loss"][0], history["distillation_loss"]

    def test_keras_hub_task_as_teacher(self, tiny_preset_no_dropout, short_preset):
        import keras_hub

        texts, labels = sentiment_texts(8, seed=4)
        teacher = keras_hub.models.BertTextClassifier.from_preset(tiny_preset_no_dropout, num_classes=2)
        student = kt.build_text_classifier(short_preset, 2, freeze=False)
        distiller = kt.distill.Distiller(student, teacher, label_space="shared", temperature=1.0)
        assert distiller._teacher_from_logits  # keras-hub classifiers output logits
        self.assertAllClose(
            distiller.teacher_probabilities(texts), _softmax(teacher.predict(texts, verbose=0)), atol=1e-5
        )
        distiller.compile(optimizer="adam")
        history = distiller.fit(texts, labels, batch_size=4, verbose=0).history
        assert np.isfinite(history["loss"]).all()

    def test_bad_input(self, tiny_preset_no_dropout, short_preset):
        text_model = kt.build_text_classifier(tiny_preset_no_dropout, 2)
        with pytest.raises(ValueError, match="`teacher`.*student is a text model.*Received"):
            kt.distill.Distiller(text_model, tiny.classifier(2), label_space="shared")
        with pytest.raises(ValueError, match="`student`.*teacher is a text model.*Received"):
            kt.distill.Distiller(tiny.classifier(2), text_model, label_space="shared")
        with pytest.raises(ValueError, match="teacher_value_range.*text models.*Received"):
            kt.distill.Distiller(text_model, text_model, label_space="shared", teacher_value_range=(0, 1))
        student = kt.build_text_classifier(short_preset, 2)
        distiller = kt.distill.Distiller(student, text_model, label_space="shared")
        distiller.compile(optimizer="adam")
        with pytest.raises(ValueError, match="`y`.*alpha=0.5.*Received: y=None.*alpha=1.0"):
            distiller.fit(["good film", "bad film"])
        with pytest.raises(ValueError, match="`y`.*class ids in \\[0, 1\\].*labels from 0 to 5"):
            distiller.fit(["good film", "bad film"], np.array([0, 5]))
        with pytest.raises(ValueError, match="`inputs`.*tokenize differently"):
            distiller.teacher_probabilities(student.preprocessor(tf.constant(["good film"])))

    def test_each_model_applies_its_own_length_policy(self, tiny_preset_no_dropout, short_preset):
        # 7 words: 9 tokens with [CLS]/[SEP], too long for the student's 8, fine for the teacher's 12.
        text = "good movie and very nice plot really"
        teacher = kt.build_text_classifier(tiny_preset_no_dropout, 2)
        student = kt.build_text_classifier(short_preset, 2, freeze=False)
        distiller = kt.distill.Distiller(student, teacher, label_space="shared")
        distiller.compile(optimizer="adam")
        with pytest.warns(UserWarning, match=r"1 of 2 texts in `x` .* truncated to sequence_length=8"):
            distiller.fit([text, "bad film"], np.array([1, 0]), verbose=0)
        strict = kt.build_text_classifier(short_preset, 2, on_too_long="error")
        before = _weights(strict)
        distiller = kt.distill.Distiller(strict, teacher, label_space="shared")
        distiller.compile(optimizer="adam")
        with pytest.raises(ValueError, match=r"`x`: 1 of 2 texts have more than 6 tokens.*on_too_long='error'"):
            distiller.fit([text, "bad film"], np.array([1, 0]), verbose=0)
        for b, a in zip(before, _weights(strict)):
            np.testing.assert_array_equal(b, a)
