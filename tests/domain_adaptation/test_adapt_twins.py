"""Our MDD update is ADAPT 0.4.5's `MDD` update, weight for weight (skipped without ADAPT, not a dependency)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_transfer as kt

RNG = np.random.default_rng(0)
X_S = RNG.normal(size=(32, 2)).astype("float32")
Y_S = np.eye(2, dtype="float32")[RNG.integers(0, 2, 32)]
X_T = RNG.normal(1.0, 1.0, size=(32, 2)).astype("float32")


def networks():
    keras.utils.set_random_seed(0)
    encoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, activation="relu")])
    task = keras.Sequential([keras.Input((8,)), keras.layers.Dense(2, activation="softmax")])
    return encoder, task


def test_one_mdd_step_equals_adapts():
    adapt = pytest.importorskip("adapt.feature_based")
    encoder, task = networks()
    twin = adapt.MDD(encoder=encoder, task=task, Xt=X_T, lambda_=0.1, gamma=4.0, optimizer=keras.optimizers.SGD(0.0),
                     loss="categorical_crossentropy", random_state=0, verbose=0)
    twin.fit(X_S, Y_S, epochs=1, batch_size=32)  # learning rate 0: builds its networks and optimizers only
    start = [twin.encoder_.get_weights(), twin.task_.get_weights(), twin.discriminator_.get_weights()]
    for optimizer in (twin.optimizer, twin.optimizer_enc, twin.optimizer_disc):
        optimizer.learning_rate.assign(0.1)
    twin.train_step(((tf.constant(X_S), tf.constant(Y_S)), tf.constant(X_T)))

    encoder, task = networks()
    encoder.set_weights(start[0])
    task.set_weights(start[1])
    head = kt.layers.MarginDisparityHead(hidden_units=(), lambda_=0.1, margin=4.0)
    head.build([(None, 8), (None, 2)])
    head.class_logits.set_weights(start[2])  # ADAPT's auxiliary classifier: Dense(2, softmax), ours its logits
    model = kt.models.DomainAdaptationModel(encoder, task, head, alignment_weight=1.0, joint_forward=False)
    model.compile(keras.optimizers.SGD(0.1), "categorical_crossentropy")
    model.train_on_batch({"source": X_S, "target": X_T}, Y_S)

    for theirs, ours, before in zip((twin.encoder_, twin.task_, twin.discriminator_),
                                    (encoder, task, head.class_logits), start):
        for a, b, c in zip(theirs.get_weights(), ours.get_weights(), before):
            assert np.abs(a - c).max() > 1e-3  # the step moved it
            np.testing.assert_allclose(b, a, atol=1e-6)
