"""`MeanTeacher`: the teacher is the EMA of the student, updated in the step; MSE consistency to it."""

import keras
import numpy as np

import keras_transfer as kt
from tests.generative import tiny
from tests.test_case import TestCase


class TestMeanTeacher(TestCase):
    def test_teacher_is_the_ema_of_the_student_after_each_step_under_jit(self):
        learner = kt.ssl.MeanTeacher(tiny.conv_classifier(2), weak_augmentation=None, ema_decay=0.7, rampup_steps=3)
        learner.compile(optimizer="adam", jit_compile=True)
        student, teacher = learner.model, learner.teacher
        start = tiny.weights_of(teacher)
        assert all(np.array_equal(a, b) for a, b in zip(start, tiny.weights_of(student)))
        steps = []
        record = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: steps.append(tiny.weights_of(student)))
        x, y = tiny.images(8), np.arange(8) % 2
        learner.fit((x, tiny.images(8, seed=1)), y, batch_size=4, epochs=2, verbose=0, callbacks=[record])
        assert len(steps) == 4
        expected = start
        for k, weights in enumerate(steps, 1):
            decay = min(0.7, 1 - 1 / (k + 1))  # the paper's warm-up of the average
            expected = [decay * t + (1 - decay) * s for t, s in zip(expected, weights)]
        for e, t, s in zip(expected, tiny.weights_of(teacher), steps[-1]):
            self.assertAllClose(t, e, atol=1e-6)
        # BatchNorm statistics included; the teacher lags the student, it is not a copy.
        assert max(np.abs(t - s).max() for t, s in zip(tiny.weights_of(teacher), steps[-1])) > 1e-3
        assert {id(v) for v in learner.trainable_variables} == {id(v) for v in student.trainable_variables}
        self.assertAllClose(learner.teacher.predict(x, verbose=0).sum(-1), np.ones(8), atol=1e-5)

    def test_consistency_is_the_mse_of_the_probabilities_with_a_sigmoid_ramp(self):
        model = tiny.classifier(3)
        learner = kt.ssl.MeanTeacher(model, weak_augmentation=None, rampup_steps=4, unlabeled_weight=5.0)
        layer = learner.teacher.get_layer("predictions")
        rng = np.random.default_rng(0)
        layer.set_weights([w + rng.normal(0, 0.5, w.shape) for w in layer.get_weights()])  # a teacher that disagrees
        x_l, y, x_u = tiny.images(6, seed=1), np.arange(6) % 3, tiny.images(6, seed=2)
        p_l, p_s, p_t = model.predict(x_l, verbose=0), model.predict(x_u, verbose=0), learner.teacher.predict(x_u, verbose=0)
        learner.compile(optimizer=keras.optimizers.SGD(0.0))
        history = learner.fit((x_l, x_u), y, batch_size=6, epochs=1, verbose=0).history
        mse = np.mean((p_s - p_t) ** 2)
        assert mse > 1e-4
        self.assertAllClose(history["unlabeled_loss"][0], mse, atol=1e-6)
        self.assertAllClose(history["unlabeled_weight"][0], 5.0 * np.exp(-5.0), atol=1e-6)  # step 0 of 4
        self.assertAllClose(history["loss"][0], -np.log(p_l[np.arange(6), y]).mean() + 5.0 * np.exp(-5.0) * mse,
                            atol=1e-5)
