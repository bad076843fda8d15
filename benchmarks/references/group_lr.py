"""Discriminative learning rates written by hand: one Adam per learning-rate factor.

Package side: `build_classifier(...)` compiled with Adam, fitted with
`FreezeSchedule({0: "all"})` and `DiscriminativeLR(decay=0.5)` (the
`GroupOptimizer` rescales each variable's update by its group's factor).
Reference: the same network, all layers trainable but BatchNormalization
(the schedule's default, `train_batchnorm=False`), in a `keras.Model`
whose `train_step` applies the gradients with one Adam per factor, at
`factor * 1e-3` (Adam's step is linear in its rate, so this is the same
update), the factors read from the package's optimizer after its warm-up.
Two networks: MobileNetV2 at 32x32 (the case the performance issue
measured, random weights) and a three-layer MLP in three groups.
"""

import keras
import numpy as np
import tensorflow as tf

import keras_transfer as kt
from benchmarks.references import _harness

CLASSES = 10


class HandGroupLR(_harness.HandModel):
    def __init__(self, model):
        super().__init__()
        self.model = model
        self.groups = []

    def set_factors(self, factors):
        """One Adam per distinct factor, over the variables (in `trainable_variables` order) it applies to."""
        by_factor = {}
        for variable, factor in zip(self.model.trainable_variables, factors):
            by_factor.setdefault(factor, []).append(variable)
        self.groups = [(keras.optimizers.Adam(1e-3 * f), variables) for f, variables in by_factor.items()]
        for optimizer, variables in self.groups:
            optimizer.build(variables)

    def train_step(self, data):
        x, y = data
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, self.model(x, training=True)))
        gradients = dict(zip((id(v) for v in variables), tape.gradient(loss, variables)))
        for optimizer, group in self.groups:
            optimizer.apply([gradients[id(v)] for v in group], group)
        self.trackers[0].update_state(loss)
        return {"loss": self.trackers[0].result()}


def _mlp_classifier():
    inputs = keras.Input((16,))
    x = keras.layers.Dense(32, activation="relu", name="block1")(inputs)
    x = keras.layers.Dense(32, activation="relu", name="block2")(x)
    return keras.Model(inputs, keras.layers.Dense(CLASSES, activation="softmax", name="head")(x))


MLP_GROUPS = {"block1": ["block1"], "block2": ["block2"], "head": ["head"]}


def _builder(make_model, data, groups=None):
    def build(steps):
        x, y = data(steps)
        network = make_model()
        package_model = _harness.twin(network)
        package_model.compile(_harness.adam(), "sparse_categorical_crossentropy", jit_compile=False)
        callbacks = [kt.callbacks.FreezeSchedule({0: "all"}, groups=groups),
                     kt.callbacks.DiscriminativeLR(decay=0.5, groups=groups)]
        reference_network = _harness.twin(network)
        layers = list(reference_network._flatten_layers(include_self=False))
        for layer in layers:
            layer.trainable = True
        for layer in layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False  # as FreezeSchedule's default `train_batchnorm=False`
        reference = HandGroupLR(reference_network)
        reference.compile(_harness.adam(), jit_compile=False)

        def read_factors(package_side, reference_side):
            optimizer = package_side.model.optimizer
            reference_side.model.set_factors([optimizer.multiplier(v) for v in package_side.model.trainable_variables])

        data_kwargs = {"x": x, "y": y, "batch_size": _harness.BATCH}
        package = _harness.Side(package_model, {**data_kwargs, "callbacks": callbacks}, package_model.weights,
                                after_warm_up=read_factors)
        return package, _harness.Side(reference, data_kwargs, reference_network.weights)

    return build


def _images(steps):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (steps * _harness.BATCH, 32, 32, 3)).astype("float32")
    return x, rng.integers(0, CLASSES, len(x))


def _mobilenet():
    return kt.build_classifier("mobilenet_v2", CLASSES, weights=None, input_shape=(32, 32, 3))


MOBILENET = _harness.Pair("GroupOptimizer + FreezeSchedule (MobileNetV2 32x32)", _builder(_mobilenet, _images),
                          tolerance=1e-3)
MLP = _harness.Pair("GroupOptimizer + FreezeSchedule (MLP, 3 groups)",
                    _builder(_mlp_classifier, lambda steps: _harness.classification_data(steps, classes=CLASSES),
                             MLP_GROUPS))
PAIRS = [MLP, MOBILENET]
