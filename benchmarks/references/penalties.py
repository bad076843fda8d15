"""LwF and BSS written by hand: the label loss plus a term read from the batch's features.

Package sides: `LwFModel(target, source, alpha=1.0, temperature=2.0)` (the
target 16-32-4 MLP and a source classifier on the same trunk with a 5-logit
head) and `BSSModel(model, eta=0.1, k=4)` on the 16-32-4 MLP, fitted on
`(x, y)` arrays. References: a `keras.Model` whose `train_step` runs the
trunk and the head, takes the cross-entropy and adds the penalty: LwF, the
KL divergence from the frozen source model's tempered softmax (computed
outside the tape) to that of a trainable copy of the source head on the
shared trunk; BSS, `eta` times the squared `k` smallest singular values of
the batch features (one SVD without gradient, `sigma_i = u_i^T F v_i`).
BSS's weight and `k` are larger than the paper's so the term moves the
weights beyond the check's tolerance.
"""

import keras
import tensorflow as tf

import keras_transfer as kt
from benchmarks.references import _harness

ALPHA, TEMPERATURE = 1.0, 2.0
ETA, K = 0.1, 4
SOURCE_CLASSES = 5


class HandPenalty(_harness.HandModel):
    """Cross-entropy of `model` (a trunk and a head layer) plus `penalty(features, x, targets)`."""

    def __init__(self, model, log):
        super().__init__(("loss", log))
        self.model = model
        self.trunk, self.head = model.layers

    def targets(self, x):
        return None

    def train_step(self, data):
        x, y = data
        targets = self.targets(x)
        variables = self.trained
        with tf.GradientTape() as tape:
            features = self.trunk(x, training=True)
            task = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, self.head(features, training=True)))
            penalty = self.penalty(features, targets)
            loss = task + self.weight * penalty
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        for tracker, value in zip(self.trackers, (loss, penalty)):
            tracker.update_state(value)
        return {t.name: t.result() for t in self.trackers}


class HandLwF(HandPenalty):
    weight = 1.0

    def __init__(self, model, source, source_head):
        super().__init__(model, "lwf_loss")
        self.source, self.source_head = source, source_head
        self.trained = [*model.trainable_variables, *source_head.trainable_variables]

    def targets(self, x):
        return tf.stop_gradient(tf.nn.softmax(self.source(x, training=False) / TEMPERATURE))

    def penalty(self, features, targets):
        student = tf.nn.log_softmax(self.source_head(features, training=True) / TEMPERATURE)
        teacher = tf.math.log(tf.clip_by_value(targets, 1e-7, 1.0))
        return ALPHA * tf.reduce_mean(tf.reduce_sum(targets * (teacher - student), axis=-1))


class HandBSS(HandPenalty):
    weight = ETA

    def __init__(self, model):
        super().__init__(model, "bss_penalty")
        self.trained = model.trainable_variables

    def penalty(self, features, targets):
        _, left, right = tf.linalg.svd(tf.stop_gradient(features), full_matrices=False)
        left, right = tf.stop_gradient(left[:, -K:]), tf.stop_gradient(right[:, -K:])
        return tf.reduce_sum(tf.square(tf.einsum("bi,bd,di->i", left, features, right)))


def _sides(package, reference, package_compared, reference_compared, steps):
    package.compile(_harness.adam(), "sparse_categorical_crossentropy", jit_compile=False)
    reference.compile(_harness.adam(), jit_compile=False)
    x, y = _harness.classification_data(steps)
    data = {"x": x, "y": y, "batch_size": _harness.BATCH}
    return _harness.Side(package, data, package_compared), _harness.Side(reference, data, reference_compared)


def build_lwf(steps):
    target = _harness.mlp()
    source = keras.Sequential([keras.Input((16,)), target.layers[0], keras.layers.Dense(SOURCE_CLASSES)],
                              name="source")
    package = kt.models.LwFModel(_harness.twin(target), source, alpha=ALPHA, temperature=TEMPERATURE)
    frozen = _harness.twin(source)
    frozen.trainable = False
    source_head = _harness.twin(keras.Sequential([keras.Input((32,)), source.layers[-1]]))
    reference = HandLwF(_harness.twin(target), frozen, source_head)
    return _sides(package, reference, [*package.model.trainable_weights, *package.source_head.trainable_weights],
                  reference.trained, steps)


def build_bss(steps):
    network = _harness.mlp()
    package = kt.models.BSSModel(_harness.twin(network), eta=ETA, k=K)
    reference = HandBSS(_harness.twin(network))
    return _sides(package, reference, package.model.trainable_weights, reference.model.trainable_weights, steps)


LWF = _harness.Pair("LwFModel", build_lwf)
BSS = _harness.Pair("BSSModel", build_bss)
PAIRS = [LWF, BSS]
