"""Seeded randomness that survives saving and differs between replicas.

Layers of the package draw their noise from a `keras.random.SeedGenerator`
attribute: its state is a variable, saved with the model, so a reloaded model
continues the same random stream. Under `tf.distribute` the seed state is
mirrored, so every replica would draw the *same* numbers; the helpers here draw
one slice per replica and keep the current replica's slice.
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


_SEED_KEY = "seed_generator_state_"


class SavesSeedState:
    """Mixin for layers and models: `save`/`save_weights` also store seed states.

    Keras saves a layer's weights but not the state of its
    `keras.random.SeedGenerator`s, so a reloaded (or `BackupAndRestore`d)
    model would restart its random stream. With this mixin the states are
    saved beside the weights and restored on load: a resumed run draws the
    noise the uninterrupted run would have drawn.
    """

    def save_own_variables(self, store):
        super().save_own_variables(store)
        for i, generator in enumerate(self._seed_generators):
            store[f"{_SEED_KEY}{i}"] = generator.state

    def load_own_variables(self, store):
        keys = list(store.keys())
        seeds = sorted(k for k in keys if str(k).startswith(_SEED_KEY))
        if not seeds:
            return super().load_own_variables(store)
        super().load_own_variables({k: store[k] for k in keys if not str(k).startswith(_SEED_KEY)})
        for i, generator in enumerate(self._seed_generators):
            key = f"{_SEED_KEY}{i}"
            if key in seeds:
                generator.state.assign(ops.cast(ops.convert_to_tensor(store[key][...]), generator.state.dtype))
