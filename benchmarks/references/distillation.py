"""Knowledge distillation written by hand: tempered KL to a frozen teacher plus the label loss.

Package side: `Distiller(student, teacher, label_space="shared",
temperature=4, alpha=0.5)` on `(x, y)` arrays. Reference: a `keras.Model`
whose `train_step` runs the teacher (not trained), takes
`T^2 KL(softmax(t / T) || softmax(s / T))` and the student's cross-entropy,
mixed by `alpha`, and tracks `loss` and `distillation_loss`.
"""

import keras
import tensorflow as tf

import keras_transfer as kt
from benchmarks.references import _harness

TEMPERATURE = 4.0
ALPHA = 0.5


class HandDistiller(_harness.HandModel):
    def __init__(self, student, teacher):
        super().__init__(("loss", "distillation_loss"))
        self.student, self.teacher = student, teacher

    def call(self, x, training=False):
        return self.student(x, training=training)

    def train_step(self, data):
        x, y = data
        teacher = tf.nn.softmax(self.teacher(x, training=False) / TEMPERATURE)
        variables = self.student.trainable_variables
        with tf.GradientTape() as tape:
            logits = self.student(x, training=True)
            student = tf.nn.log_softmax(logits / TEMPERATURE)
            kl = tf.reduce_sum(teacher * (tf.math.log(tf.clip_by_value(teacher, 1e-7, 1.0)) - student), axis=-1)
            distillation = tf.reduce_mean(kl) * TEMPERATURE**2
            supervised = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True))
            loss = ALPHA * distillation + (1.0 - ALPHA) * supervised
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        for tracker, value in zip(self.trackers, (loss, distillation)):
            tracker.update_state(value)
        return {t.name: t.result() for t in self.trackers}


def build(steps):
    x, y = _harness.classification_data(steps)
    teacher = _harness.mlp(hidden=64, activation=None, name="teacher")
    student = _harness.mlp(activation=None, name="student")
    package = kt.distill.Distiller(_harness.twin(student), _harness.twin(teacher), label_space="shared",
                                   temperature=TEMPERATURE, alpha=ALPHA, value_range=(-4, 4))
    package.compile(_harness.adam(), jit_compile=False)
    reference = HandDistiller(_harness.twin(student), _harness.twin(teacher))
    reference.compile(_harness.adam(), jit_compile=False)
    data = {"x": x, "y": y, "batch_size": _harness.BATCH}
    return (
        _harness.Side(package, data, package.student.trainable_weights),
        _harness.Side(reference, data, reference.student.trainable_weights),
    )


PAIR = _harness.Pair("Distiller", build)
