"""Checks that a model is compiled and fitted under the strategy that owns its variables.

A `tf.distribute` strategy mirrors the variables created inside its
`scope()`; the optimizer's slots, the loss trackers and the variables that
`keras_transfer.callbacks.DiscriminativeLR` (`GroupOptimizer`) and
`FreezeSchedule` create later must live under the same strategy. A model built
outside the scope and compiled or fitted inside it (or the reverse) otherwise
fails deep inside TensorFlow ("`colocate_vars_with` must only be passed a
variable created in this tf.distribute.Strategy.scope()", "Mixing different
tf.distribute.Strategy objects", or a bare `AssertionError`).
`check_strategy_scope` turns that into a `ValueError` before any work, which
says what is wrong and how to fix it; `keras_transfer.models.TransferModel`
runs it at `compile` and `fit`.
"""

import keras

_FIX = (
    "Create the model (and every model it wraps: backbone, classifier, teacher, generator) and "
    "call `compile` inside `with strategy.scope():`; `fit` may then be called inside or outside it."
)


def _strategy_name(strategy):
    if strategy is None or "Default" in type(strategy).__name__:
        return "no tf.distribute strategy (the default, one device)"
    return f"{type(strategy).__name__} with {strategy.num_replicas_in_sync} replicas"


def _owner(variable):
    """The strategy that created `variable`, or `None` outside any strategy."""
    return getattr(getattr(variable, "value", variable), "_distribute_strategy", None)


def is_default(strategy):
    return strategy is None or "Default" in type(strategy).__name__


def multi_worker(strategy):
    extended = getattr(strategy, "extended", None)
    check = getattr(extended, "_in_multi_worker_mode", None)
    return bool(check and check())


def check_strategy_scope(model, action):
    """Raises a `ValueError` when `action` ("compile", "fit") runs under another strategy.

    Under the strategy in effect (`tf.distribute.get_strategy()`), every
    variable of `model` must have been created by that strategy; at `fit`,
    the default strategy (no scope around the call) is fine when the model's
    variables belong to one strategy, as Keras then enters it.
    """
    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    owners = {}
    for variable in model.variables:
        owners.setdefault(id(_owner(variable)), (_owner(variable), variable))
    if not owners:
        return
    current = tf.distribute.get_strategy()
    if len(owners) > 1:
        (first, a), (second, b) = list(owners.values())[:2]
        raise ValueError(
            f"Cannot {action} `{model.name}` under tf.distribute: its variables were created under "
            f"different strategies (`{a.path}` under {_strategy_name(first)}, `{b.path}` under "
            f"{_strategy_name(second)}). {_FIX}"
        )
    (owner, variable), = owners.values()
    if action == "fit" and is_default(current):
        return
    same = (is_default(owner) and is_default(current)) or owner is current
    if not same:
        raise ValueError(
            f"Cannot {action} `{model.name}` under {_strategy_name(current)}: its variables (e.g. "
            f"`{variable.path}`) were created under {_strategy_name(owner)}. {_FIX}"
        )
