"""DANN written by hand: one joint forward pass, a gradient-reversed domain classifier, per-domain means.

Package side: `DomainAdaptationModel(features, classifier, DomainAdversarialHead((16,)))`
fitted on `domain_adaptation_dataset(shuffle=False)`. Reference: the same
three networks in a `keras.Model` whose `train_step` concatenates the two
batches, reverses the gradient with `tf.custom_gradient`, averages the
domain cross-entropy over each domain and tracks the same four logs, fed by
a `tf.data` zip of the two domains.
"""

import keras
import numpy as np
import tensorflow as tf

import keras_transfer as kt
from benchmarks.references import _harness

HIDDEN = 16


@tf.custom_gradient
def _reverse(x):
    return tf.identity(x), lambda upstream: -upstream


class HandDANN(_harness.HandModel):
    def __init__(self, features, classifier, discriminator, weight=1.0):
        super().__init__(("loss", "task_loss", "alignment_loss", "domain_accuracy"))
        self.features, self.classifier, self.discriminator = features, classifier, discriminator
        self.weight = weight

    def call(self, x, training=False):
        return self.classifier(self.features(x, training=training), training=training)

    def train_step(self, data):
        x, y = data
        source, target = x["source"], x["target"]
        n = tf.shape(source)[0]
        variables = (self.features.trainable_variables + self.classifier.trainable_variables
                     + self.discriminator.trainable_variables)
        with tf.GradientTape() as tape:
            features = self.features(tf.concat([source, target], axis=0), training=True)
            predictions = self.classifier(features, training=True)
            task = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, predictions[:n]))
            logits = tf.reshape(self.discriminator(_reverse(features), training=True), [-1])
            is_source = tf.range(tf.shape(logits)[0]) < n
            losses = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.cast(is_source, tf.float32), logits=logits)
            alignment = 0.5 * (tf.reduce_mean(losses[:n]) + tf.reduce_mean(losses[n:]))
            loss = task + self.weight * alignment
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        correct = tf.cast(tf.equal(logits > 0.0, is_source), tf.float32)
        accuracy = 0.5 * (tf.reduce_mean(correct[:n]) + tf.reduce_mean(correct[n:]))
        for tracker, value in zip(self.trackers, (loss, task, alignment, accuracy)):
            tracker.update_state(value)
        return {t.name: t.result() for t in self.trackers}


def _domains(steps):
    x, y = _harness.classification_data(steps)
    x_target = np.random.default_rng(1).normal(0.5, 1.2, x.shape).astype("float32")
    return x, y, x_target


def _discriminator(head):
    discriminator = keras.Sequential(
        [keras.Input((HIDDEN * 2,)), keras.layers.Dense(HIDDEN, activation="relu"), keras.layers.Dense(1)]
    )
    discriminator.set_weights([keras.ops.convert_to_numpy(w) for w in head.trainable_weights])
    return discriminator


def build(steps):
    x, y, x_target = _domains(steps)
    network = _harness.mlp(hidden=HIDDEN * 2)
    features = keras.Sequential([keras.Input((16,)), network.layers[0]], name="features")
    classifier = keras.Sequential([keras.Input((HIDDEN * 2,)), network.layers[1]], name="classifier")
    head = kt.layers.DomainAdversarialHead((HIDDEN,))
    package = kt.models.DomainAdaptationModel(_harness.twin(features), _harness.twin(classifier), head)
    package.compile(_harness.adam(), "sparse_categorical_crossentropy", jit_compile=False)
    package_data = kt.data.domain_adaptation_dataset(source=(x, y), target=x_target, batch_size=_harness.BATCH,
                                                     shuffle=False)
    reference = HandDANN(_harness.twin(features), _harness.twin(classifier), _discriminator(head))
    reference.compile(_harness.adam(), jit_compile=False)
    source = tf.data.Dataset.from_tensor_slices((x, y)).batch(_harness.BATCH)
    target = tf.data.Dataset.from_tensor_slices(x_target).batch(_harness.BATCH)
    reference_data = tf.data.Dataset.zip((source, target)).map(
        lambda s, t: ({"source": s[0], "target": t}, s[1])
    ).prefetch(tf.data.AUTOTUNE)
    return (
        _harness.Side(package, {"x": package_data}, package.trainable_weights),
        _harness.Side(reference, {"x": reference_data}, reference.trainable_weights),
    )


PAIR = _harness.Pair("DomainAdaptationModel (DANN)", build)
