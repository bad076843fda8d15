"""SHOT and TENT written by hand: source-free adaptation of a trained classifier.

SHOT. Package side: `SHOT(features, classifier)` fitted on unlabelled
target arrays (its centroids are refreshed at the start of each epoch,
outside the steps timed). Reference: a `keras.Model` whose `train_step`
takes the information-maximisation loss (mean entropy minus the entropy
of the mean prediction) and the cross-entropy to the nearest-centroid
pseudo-labels, training the feature extractor only; its centroids are
the package's of the warm-up epoch (computed from the same initial
weights), so both take the same steps.

TENT. Package side: `TENT(model).predict(x)`, one entropy step on the
BatchNormalization scale and offset per batch, normalising with the
batch's statistics. Reference: the same network with a hand-written
batch-statistics normalization layer, and a `predict_step` that takes the
entropy step with its own Adam before returning the outputs.
"""

import keras
import numpy as np
import tensorflow as tf

import keras_transfer as kt
from benchmarks.references import _harness

PSEUDO_LABEL_WEIGHT = 0.3


class HandSHOT(_harness.HandModel):
    def __init__(self, features, classifier, classes):
        super().__init__(("loss", "im_loss", "pseudo_label_loss"))
        self.features, self.classifier = features, classifier
        self.centroids = self.add_weight(shape=(classes, features.output_shape[-1]), initializer="zeros",
                                         trainable=False, name="centroids")

    def call(self, x, training=False):
        return tf.nn.softmax(self.classifier(self.features(x, training=training), training=False))

    def train_step(self, x):
        variables = self.features.trainable_variables
        with tf.GradientTape() as tape:
            features = self.features(x, training=True)
            log_p = tf.nn.log_softmax(self.classifier(features, training=False))
            p = tf.exp(log_p)
            mean_p = tf.reduce_mean(p, axis=0)
            im_loss = -tf.reduce_mean(tf.reduce_sum(p * log_p, axis=-1)) + tf.reduce_sum(mean_p * tf.math.log(mean_p + 1e-5))
            unit = tf.stop_gradient(tf.math.l2_normalize(features, axis=-1))
            pseudo = tf.argmax(tf.matmul(unit, self.centroids, transpose_b=True), axis=-1)
            pseudo_loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(pseudo, log_p))
            loss = im_loss + PSEUDO_LABEL_WEIGHT * pseudo_loss
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        for tracker, value in zip(self.trackers, (loss, im_loss, pseudo_loss)):
            tracker.update_state(value)
        return {t.name: t.result() for t in self.trackers}


def _split_mlp():
    network = _harness.mlp(activation=None)
    features = keras.Sequential([keras.Input((16,)), network.layers[0]], name="features")
    classifier = keras.Sequential([keras.Input((32,)), network.layers[1]], name="classifier")
    return features, classifier


def build_shot(steps):
    x, _ = _harness.classification_data(steps)
    features, classifier = _split_mlp()
    package = kt.test_time.SHOT(_harness.twin(features), _harness.twin(classifier),
                                pseudo_label_weight=PSEUDO_LABEL_WEIGHT)
    package.compile(_harness.adam(), jit_compile=False)
    reference = HandSHOT(_harness.twin(features), _harness.twin(classifier), 4)
    reference.compile(_harness.adam(), jit_compile=False)
    data = {"x": x, "batch_size": _harness.BATCH}

    def same_centroids(package_side, reference_side):
        reference_side.model.centroids.assign(package_side.model.centroids)

    return (
        _harness.Side(package, data, package.feature_extractor.trainable_weights, after_warm_up=same_centroids),
        _harness.Side(reference, data, reference.features.trainable_weights),
    )


class BatchStatistics(keras.layers.Layer):
    """`gamma * (x - mean) / sqrt(var + eps) + beta` with the statistics of the batch."""

    def build(self, shape):
        self.gamma = self.add_weight(shape=(shape[-1],), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(shape[-1],), initializer="zeros", name="beta")

    def call(self, x):
        mean, variance = tf.nn.moments(x, axes=[0])
        return tf.nn.batch_normalization(x, mean, variance, self.beta, self.gamma, 1e-3)


class HandTENT(keras.Model):
    def __init__(self, network):
        super().__init__()
        self.network = network
        self.affine = [network.layers[1].gamma, network.layers[1].beta]
        self.adaptation_optimizer = _harness.adam()
        self.adaptation_optimizer.build(self.affine)

    def call(self, x, training=False):
        return self.network(x, training=False)

    def predict_step(self, x):
        with tf.GradientTape() as tape:
            outputs = self.network(x, training=False)
            log_p = tf.nn.log_softmax(outputs)
            loss = -tf.reduce_mean(tf.reduce_sum(tf.exp(log_p) * log_p, axis=-1))
        self.adaptation_optimizer.apply(tape.gradient(loss, self.affine), self.affine)
        return outputs


def _normalised_mlp(normalization):
    return keras.Sequential([
        keras.Input((16,)), keras.layers.Dense(32), normalization, keras.layers.ReLU(), keras.layers.Dense(4),
    ])


def _predict(side, epoch, callbacks):
    side.model.predict(side.fit_kwargs["x"], batch_size=_harness.BATCH, callbacks=callbacks, verbose=0)


_predict.predicts = True


def build_tent(steps):
    x, _ = _harness.classification_data(steps)
    shifted = 1.5 * x + 0.5
    network = _normalised_mlp(keras.layers.BatchNormalization())
    package = kt.test_time.TENT(network)
    hand = _normalised_mlp(BatchStatistics())
    dense_in, norm, _, dense_out = network.layers
    hand.set_weights([*dense_in.get_weights(), norm.gamma.numpy(), norm.beta.numpy(), *dense_out.get_weights()])
    reference = HandTENT(hand)
    return (
        _harness.Side(package, {"x": shifted}, package._affine, run=_predict),
        _harness.Side(reference, {"x": shifted}, reference.affine, run=_predict),
    )


PAIRS = [_harness.Pair("SHOT", build_shot), _harness.Pair("TENT (predict)", build_tent)]
