"""Random-generator state saved with the weights, for bitwise resume.

Keras saves a layer's weights but not the state of its
`keras.random.SeedGenerator`s, so a reloaded (or `BackupAndRestore`d) model
would restart its random stream. `SavesSeedState` stores the states beside
the weights and restores them on load.
"""

from keras import ops

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
