"""Mean Teacher and Pseudo-Label written by hand: one pass over labelled and unlabelled, a ramped weight.

Package sides: `MeanTeacher(model, weak_augmentation=None, ema_decay=0.99,
rampup_steps=16)` on a softmax MLP and `PseudoLabel(model,
weak_augmentation=None, threshold=0.5, warmup_steps=2, rampup_steps=8)` on a
logits MLP (no augmentation, as for FixMatch: the same arithmetic on both
sides, left out so the step's own cost shows), fitted on
`(x_labeled, x_unlabeled), y` arrays. References: a `keras.Model` whose
`train_step` runs the concatenated batch once, takes the labelled
cross-entropy, adds the ramped unlabelled term (Mean Teacher: the mean
squared difference of the student's and the inference-mode teacher's
probabilities, then the teacher's EMA toward the student with the decay
`min(0.99, 1 - 1 / (k + 1))`; Pseudo-Label: the cross-entropy to the
confident argmax, masked) and tracks the same logs. Both Mean Teachers start
from another network's weights: a copy of the student would keep the term
near 0 over the check's few steps.
"""

import keras
import numpy as np
import tensorflow as tf

import keras_transfer as kt
from benchmarks.references import _harness

EMA_DECAY, SIGMOID_RAMPUP, CONSISTENCY_WEIGHT = 0.99, 16, 10.0
THRESHOLD, WARMUP, LINEAR_RAMPUP = 0.5, 2, 8


class HandLearner(_harness.HandModel):
    """The shared step: labelled cross-entropy plus `weight(k) * unlabeled(...)` on one forward pass."""

    from_logits = False

    def __init__(self, model, logs):
        super().__init__(("loss", "unlabeled_loss", *logs, "unlabeled_weight"))
        self.model = model

    def train_step(self, data):
        (labeled, unlabeled), y = data
        n = tf.shape(labeled)[0]
        weight = self.weight(tf.cast(self.optimizer.iterations, tf.float32))
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            outputs = self.model(tf.concat([labeled, unlabeled], axis=0), training=True)
            supervised = tf.reduce_mean(
                keras.losses.sparse_categorical_crossentropy(y, outputs[:n], from_logits=self.from_logits))
            unlabeled_loss, logs = self.unlabeled(outputs[n:], unlabeled)
            loss = supervised + weight * unlabeled_loss
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        self.after_update()
        for tracker, value in zip(self.trackers, (loss, unlabeled_loss, *logs, weight)):
            tracker.update_state(value)
        return {t.name: t.result() for t in self.trackers}

    def after_update(self):
        pass


class HandMeanTeacher(HandLearner):
    def __init__(self, model, teacher):
        super().__init__(model, ())
        self.teacher = teacher

    def weight(self, step):
        t = tf.clip_by_value(step / SIGMOID_RAMPUP, 0.0, 1.0)
        return CONSISTENCY_WEIGHT * tf.exp(-5.0 * tf.square(1.0 - t))

    def unlabeled(self, student, images):
        target = tf.stop_gradient(self.teacher(images, training=False))
        return tf.reduce_mean(tf.square(student - target)), ()

    def after_update(self):
        decay = tf.minimum(EMA_DECAY, 1.0 - 1.0 / (tf.cast(self.optimizer.iterations, tf.float32) + 1.0))
        for t, s in zip(self.teacher.weights, self.model.weights):
            t.assign(decay * t + (1.0 - decay) * s)


class HandPseudoLabel(HandLearner):
    from_logits = True

    def __init__(self, model):
        super().__init__(model, ("mask_rate",))

    def weight(self, step):
        return tf.clip_by_value((step - WARMUP) / LINEAR_RAMPUP, 0.0, 1.0)

    def unlabeled(self, logits, images):
        probabilities = tf.stop_gradient(tf.nn.softmax(logits))
        mask = tf.cast(tf.reduce_max(probabilities, axis=-1) >= THRESHOLD, tf.float32)
        cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(tf.argmax(probabilities, axis=-1), logits)
        return tf.reduce_mean(cross_entropy * mask), (tf.reduce_mean(mask),)


def _data(steps):
    x, y = _harness.classification_data(steps)
    x_unlabeled = np.random.default_rng(1).normal(size=x.shape).astype("float32")
    return {"x": (x, x_unlabeled), "y": y, "batch_size": _harness.BATCH}


def _sides(package, reference, package_compared, reference_compared, steps):
    package.compile(_harness.adam(), jit_compile=False)
    reference.compile(_harness.adam(), jit_compile=False)
    data = _data(steps)
    return _harness.Side(package, data, package_compared), _harness.Side(reference, data, reference_compared)


def build_mean_teacher(steps):
    network = _harness.mlp()
    package = kt.ssl.MeanTeacher(_harness.twin(network), weak_augmentation=None, ema_decay=EMA_DECAY,
                                 rampup_steps=SIGMOID_RAMPUP, unlabeled_weight=CONSISTENCY_WEIGHT, seed=0)
    start = _harness.mlp().get_weights()  # a teacher equal to the student would make the term vanish early
    package.teacher.set_weights(start)
    teacher = _harness.twin(network)
    teacher.set_weights(start)
    teacher.trainable = False
    reference = HandMeanTeacher(_harness.twin(network), teacher)
    return _sides(package, reference, [*package.model.trainable_weights, *package.teacher.weights],
                  [*reference.model.trainable_weights, *teacher.weights], steps)


def build_pseudo_label(steps):
    network = _harness.mlp(activation=None)
    package = kt.ssl.PseudoLabel(_harness.twin(network), weak_augmentation=None, threshold=THRESHOLD,
                                 warmup_steps=WARMUP, rampup_steps=LINEAR_RAMPUP, seed=0)
    reference = HandPseudoLabel(_harness.twin(network))
    return _sides(package, reference, package.model.trainable_weights, reference.model.trainable_weights, steps)


MEAN_TEACHER = _harness.Pair("MeanTeacher", build_mean_teacher)
PSEUDO_LABEL = _harness.Pair("PseudoLabel", build_pseudo_label)
PAIRS = [MEAN_TEACHER, PSEUDO_LABEL]
