"""Replicas under `tf.distribute`: how many, which one, and noise that differs between them.

Layers of the package draw their noise from a `keras.random.SeedGenerator`
attribute (saved with the model, see `_seeds.py`). Under `tf.distribute` the
seed state is mirrored, so every replica would draw the *same* numbers; the
helpers here draw one slice per replica and keep the current replica's slice.
"""

import keras
from keras import ops


def replica_id():
    """The index of the current replica (0 outside `tf.distribute`)."""
    if keras.backend.backend() != "tensorflow":
        return 0
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None:  # cross-replica context
        return 0
    return context.replica_id_in_sync_group


def num_replicas():
    """How many replicas synchronise their gradients (1 outside `tf.distribute`)."""
    if keras.backend.backend() != "tensorflow":
        return 1
    import tensorflow as tf

    return tf.distribute.get_strategy().num_replicas_in_sync


def _per_replica(draw, shape, seed_generator, **kwargs):
    replicas = num_replicas()
    if replicas == 1:
        return draw(shape, seed=seed_generator, **kwargs)
    values = draw((replicas, *shape), seed=seed_generator, **kwargs)
    return ops.take(values, replica_id(), axis=0)


def normal(shape, seed_generator, dtype="float32"):
    """`keras.random.normal`, one independent stream per replica."""
    return _per_replica(keras.random.normal, shape, seed_generator, dtype=dtype)


def uniform(shape, seed_generator, minval=0.0, maxval=1.0, dtype="float32"):
    """`keras.random.uniform`, one independent stream per replica."""
    return _per_replica(keras.random.uniform, shape, seed_generator, minval=minval, maxval=maxval, dtype=dtype)
