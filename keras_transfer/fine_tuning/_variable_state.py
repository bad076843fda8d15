"""Helpers of `GroupOptimizer` for its variables: storage keys, snapshots, merge calls under a distribution strategy."""

import keras


def storage_keys(variables):
    """Stable, unique storage keys for optimizer variables.

    The variable's own name (e.g. `block5_conv1_kernel_momentum`), without the
    optimizer's scope: Keras numbers optimizer names per session (`adam_3`),
    so a resumed process would not find `adam_3/...` again.
    """
    seen = {}
    keys = []
    for variable in variables:
        key = str(variable.name).split("/")[-1].split(":")[0]
        count = seen.get(key, 0)
        seen[key] = count + 1
        keys.append(key if count == 0 else f"{key}#{count}")
    return keys


def snapshot(variable):
    """The variable's current value as a new tensor (not a live reference)."""
    import tensorflow as tf

    return tf.identity(variable.value if isinstance(variable, keras.Variable) else variable)


def merge_call(fn, *args):
    import tensorflow as tf

    strategy = tf.distribute.get_strategy()
    return tf.__internal__.distribute.interim.maybe_merge_call(fn, strategy, *args)
