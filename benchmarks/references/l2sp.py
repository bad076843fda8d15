"""L2-SP written by hand: the label loss plus the pull of each pretrained weight toward its start.

Package side: `apply_l2sp(model, alpha=0.1, beta=0.01)` (the penalty as
Keras weight regularisers, summed by `compute_loss`) on `(x, y)` arrays.
Reference: a `keras.Model` whose `train_step` adds
`alpha / 2 * ||w - w0||^2` over the body's weights and `beta / 2 * ||w||^2`
over the head's to the cross-entropy, the anchors `w0` kept as constants.
"""

import keras
import tensorflow as tf

import keras_transfer as kt
from benchmarks.references import _harness

ALPHA, BETA = 0.1, 0.01


class HandL2SP(_harness.HandModel):
    def __init__(self, model):
        super().__init__()
        self.model = model
        self.body = model.get_layer("body").trainable_variables
        self.head = model.get_layer("head").trainable_variables
        self.anchors = [tf.constant(keras.ops.convert_to_numpy(v)) for v in self.body]

    def train_step(self, data):
        x, y = data
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, self.model(x, training=True)))
            loss += sum(0.5 * ALPHA * tf.reduce_sum(tf.square(w - a)) for w, a in zip(self.body, self.anchors))
            loss += sum(0.5 * BETA * tf.reduce_sum(tf.square(w)) for w in self.head)
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        self.trackers[0].update_state(loss)
        return {"loss": self.trackers[0].result()}


def _network():
    inputs = keras.Input((16,))
    hidden = keras.layers.Dense(32, activation="relu", name="body")(inputs)
    return keras.Model(inputs, keras.layers.Dense(4, activation="softmax", name="head")(hidden))


def build(steps):
    x, y = _harness.classification_data(steps)
    network = _network()
    package = kt.regularizers.apply_l2sp(_harness.twin(network), alpha=ALPHA, beta=BETA,
                                         groups={"body": ["body"], "head": ["head"]})
    package.compile(_harness.adam(), "sparse_categorical_crossentropy", jit_compile=False)
    reference = HandL2SP(_harness.twin(network))
    reference.compile(_harness.adam(), jit_compile=False)
    data = {"x": x, "y": y, "batch_size": _harness.BATCH}
    return (
        _harness.Side(package, data, package.trainable_weights),
        _harness.Side(reference, data, reference.model.trainable_weights),
    )


PAIR = _harness.Pair("L2SPModel (apply_l2sp)", build)
