"""One switch for reproducible runs."""

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export


@keras_transfer_export("keras_transfer.utils.enable_determinism")
def enable_determinism(seed=0):
    """Makes every run of a script bitwise reproducible on CPU.

    Seeds Python's `random`, NumPy, TensorFlow and Keras's global seed
    generator (`keras.utils.set_random_seed`) and turns on TensorFlow's
    deterministic ops (`tf.config.experimental.enable_op_determinism`). Call it
    once, at the start of the script, before building models and datasets.

    Notes:
        - Keras turns XLA off (`jit_compile="auto"` resolves to `False`, and an
          explicit `True` is refused with a warning) while op determinism is
          on, because XLA cannot guarantee it.
        - Random layers and generators of keras_transfer keep their state in
          `keras.random.SeedGenerator` variables, which `model.save`,
          `save_weights` and `BackupAndRestore` store; Keras's own random
          layers (Dropout, random augmentations) seeded by the global generator
          are not restored by `BackupAndRestore` (a resumed run with Dropout
          differs from an uninterrupted one).
        - `tf.data` shuffling is reproducible when given a `seed`; the
          package's pipelines pass one.

    Args:
        seed: int seed. Defaults to 0.

    Example:

    >>> import keras, keras_transfer
    >>> keras_transfer.utils.enable_determinism(42)
    >>> a = keras.random.uniform((2,))
    >>> keras_transfer.utils.enable_determinism(42)
    >>> b = keras.random.uniform((2,))
    >>> bool((a == b).numpy().all())
    True
    """
    import keras
    import tensorflow as tf

    seed = _checks.check_int("seed", seed, minimum=0)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


@keras_transfer_export("keras_transfer.utils.disable_determinism")
def disable_determinism():
    """Turns TensorFlow's deterministic ops off again (e.g. between tests)."""
    from tensorflow.python.framework import config

    config.disable_op_determinism()
