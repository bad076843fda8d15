"""Pseudo pre-training written by hand: labels and noise drawn in the step, samples from a frozen generator.

Package side: `PseudoPretrainer(model, generator, seed=0)` fitted with
`steps_per_epoch` (its samples are generated in the step). Reference: a
`keras.Model` whose `train_step` draws uniform labels and Gaussian noise
from its own `keras.random.SeedGenerator(0)` (the same stream), runs the
generator without gradient and fits the model on its samples, fed by a
`tf.data` stream of empty batches that only sets the batch size.
"""

import keras
import tensorflow as tf

import keras_transfer as kt
from benchmarks.references import _harness

LATENT = 8
CLASSES = 4


class HandPseudoPretrainer(_harness.HandModel):
    def __init__(self, model, generator):
        super().__init__()
        self.model, self.generator = model, generator
        self.seeds = keras.random.SeedGenerator(0)

    def train_step(self, data):
        batch = tf.shape(data)[0]
        labels = tf.cast(tf.floor(keras.random.uniform((batch,), seed=self.seeds) * CLASSES), tf.int32)
        labels = tf.minimum(labels, CLASSES - 1)
        z = keras.random.normal((batch, LATENT), seed=self.seeds)
        x = tf.stop_gradient(self.generator([z, tf.one_hot(labels, CLASSES)], training=False))
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            logits = self.model(x, training=True)
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True))
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        self.trackers[0].update_state(loss)
        return {"loss": self.trackers[0].result()}


def _generator():
    z, y = keras.Input((LATENT,)), keras.Input((CLASSES,))
    images = keras.layers.Dense(16, activation="tanh")(keras.layers.Concatenate()([z, y]))
    return keras.Model([z, y], images, name="generator")


def build(steps):
    generator = _generator()
    network = _harness.mlp(activation=None)
    package = kt.generative.PseudoPretrainer(_harness.twin(network), _harness.twin(generator), value_range=(-1, 1),
                                             seed=0)
    package.compile(_harness.adam(), jit_compile=False)
    reference = HandPseudoPretrainer(_harness.twin(network), _harness.twin(generator))
    reference.compile(_harness.adam(), jit_compile=False)
    tokens = tf.data.Dataset.from_tensors(tf.zeros((_harness.BATCH, 0))).repeat()
    return (
        _harness.Side(package, {"batch_size": _harness.BATCH, "steps_per_epoch": steps}, package.model.trainable_weights),
        _harness.Side(reference, {"x": tokens, "steps_per_epoch": steps}, reference.model.trainable_weights),
    )


PAIR = _harness.Pair("PseudoPretrainer", build)
