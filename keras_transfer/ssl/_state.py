"""State a learner updates inside its step, the same on every replica, and its ramp-up schedules."""

from keras import ops

from keras_transfer.models import _replicas


def global_sum(values):
    """`values` (a list of tensors) summed over the replicas that train in sync."""
    if _replicas.num_replicas() == 1:
        return values
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    return values if context is None else context.all_reduce("sum", [ops.stop_gradient(v) for v in values])


def assign(variables, values):
    """Assigns `values` to the (Keras) `variables`, from a replica context too.

    Under `tf.distribute`, a replica cannot assign a mirrored variable
    directly; the assignment goes through a merge call, as an optimizer's
    update does. The values must be the same on every replica (computed from
    mirrored variables or from `global_sum`).
    """
    import tensorflow as tf

    def update(strategy, *values):
        for variable, value in zip(variables, values):
            strategy.extended.update(variable.value, lambda v, x: v.assign(ops.cast(x, v.dtype)), args=(value,))

    strategy = tf.distribute.get_strategy()
    tf.__internal__.distribute.interim.maybe_merge_call(update, strategy, *values)


def linear_rampup(step, start, length):
    """0 before `start`, then rising linearly to 1 over `length` steps (Lee, 2013)."""
    if length == 0:
        return ops.cast(step >= start, "float32")
    return ops.clip((step - start) / float(length), 0.0, 1.0)


def sigmoid_rampup(step, length):
    """`exp(-5 (1 - t)^2)` for `t = step / length` in [0, 1] (Laine & Aila, Tarvainen & Valpola)."""
    if length == 0:
        return ops.ones_like(step)
    t = ops.clip(step / float(length), 0.0, 1.0)
    return ops.exp(-5.0 * ops.square(1.0 - t))
