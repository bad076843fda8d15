"""FixMatch written by hand: one pass over labelled, weak and strong views, confident pseudo-labels.

Package side: `FixMatch(model, weak_augmentation=None, strong_augmentation=None,
threshold=0.5)` (augmentations are the method's arithmetic, the same on both
sides; left out so the step's own cost shows), fitted on
`(x_labeled, x_unlabeled), y` arrays. Reference: a `keras.Model` whose
`train_step` runs the concatenated batch once, takes the labelled
cross-entropy, masks the unlabelled one by the confidence of the (stopped)
weak-view predictions, and tracks the same three logs.
"""

import keras
import numpy as np
import tensorflow as tf

import keras_transfer as kt
from benchmarks.references import _harness

THRESHOLD = 0.5


class HandFixMatch(_harness.HandModel):
    def __init__(self, model, threshold=THRESHOLD):
        super().__init__(("loss", "unlabeled_loss", "mask_rate"))
        self.model, self.threshold = model, threshold

    def train_step(self, data):
        (labeled, unlabeled), y = data
        n, m = tf.shape(labeled)[0], tf.shape(unlabeled)[0]
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            logits = self.model(tf.concat([labeled, unlabeled, unlabeled], axis=0), training=True)
            supervised = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, logits[:n], from_logits=True))
            weak = tf.stop_gradient(tf.nn.softmax(logits[n:n + m]))
            mask = tf.cast(tf.reduce_max(weak, axis=-1) >= self.threshold, tf.float32)
            strong = tf.nn.sparse_softmax_cross_entropy_with_logits(tf.argmax(weak, axis=-1), logits[n + m:])
            unlabeled_loss = tf.reduce_mean(strong * mask)
            loss = supervised + unlabeled_loss
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        for tracker, value in zip(self.trackers, (loss, unlabeled_loss, tf.reduce_mean(mask))):
            tracker.update_state(value)
        return {t.name: t.result() for t in self.trackers}


def build(steps):
    x, y = _harness.classification_data(steps)
    x_unlabeled = np.random.default_rng(1).normal(size=x.shape).astype("float32")
    network = _harness.mlp(activation=None)
    package = kt.ssl.FixMatch(_harness.twin(network), weak_augmentation=None, strong_augmentation=None,
                              threshold=THRESHOLD, seed=0)
    package.compile(_harness.adam(), jit_compile=False)
    reference = HandFixMatch(_harness.twin(network))
    reference.compile(_harness.adam(), jit_compile=False)
    data = {"x": (x, x_unlabeled), "y": y, "batch_size": _harness.BATCH}
    return (
        _harness.Side(package, data, package.model.trainable_weights),
        _harness.Side(reference, data, reference.model.trainable_weights),
    )


PAIR = _harness.Pair("FixMatch", build)
