"""Checks that a model is compiled and fitted under the strategy that owns its variables.

A `tf.distribute` strategy mirrors the variables created inside its
`scope()`; the optimizer's slots, the loss trackers and the variables that
`keras_transfer.callbacks.DiscriminativeLR` (`GroupOptimizer`) and
`FreezeSchedule` create later must live under the same strategy. A model built
outside the scope and compiled or fitted inside it (or the reverse) otherwise
fails deep inside TensorFlow ("`colocate_vars_with` must only be passed a
variable created in this tf.distribute.Strategy.scope()", "Mixing different
tf.distribute.Strategy objects", or a bare `AssertionError`).
`StrategyAware` turns that into a `ValueError` before any work, which
says what is wrong and how to fix it.
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


def _is_default(strategy):
    return strategy is None or "Default" in type(strategy).__name__


def _multi_worker(strategy):
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
    if action == "fit" and _is_default(current):
        return
    same = (_is_default(owner) and _is_default(current)) or owner is current
    if not same:
        raise ValueError(
            f"Cannot {action} `{model.name}` under {_strategy_name(current)}: its variables (e.g. "
            f"`{variable.path}`) were created under {_strategy_name(owner)}. {_FIX}"
        )


# `keras.Model.fit(x, y, batch_size, epochs, verbose, callbacks, validation_split,
# validation_data, shuffle, ...)`: `shuffle` is the argument at this index.
_FIT_SHUFFLE_POSITION = 8


def _is_dataset(x):
    import tensorflow as tf

    return isinstance(x, tf.data.Dataset)


class StrategyAware:
    """Mixin for the package's models under `tf.distribute`.

    `compile` and `fit` check the strategy scope first (`check_strategy_scope`);
    `fit` on a `tf.data.Dataset` does not pass Keras's default `shuffle=True`
    (ignored for datasets, with a warning);
    `compile_from_config` compiles on `load_model` as for a model whose
    `compile` is not overridden.
    Keras 3.15 builds a model's metrics on the first batch, which it averages
    over the replicas with `strategy.reduce`; under
    `MultiWorkerMirroredStrategy` that call fails for every Keras model
    ("Attempt to convert a value (PerReplica...)"), and under
    `MirroredStrategy` when the first batch splits unevenly. Only the batch's
    shapes are needed, so here the first replica's part of it is used.
    Keras 3.15 also averages the logs of each train and test step over the
    workers with `strategy.reduce("MEAN", value, axis=0)`, which fails for
    scalar logs: under a multi-worker strategy the step returns each scalar
    log as a one-element vector, which that call averages over all replicas.
    """

    def compile(self, *args, **kwargs):
        check_strategy_scope(self, "compile")
        return super().compile(*args, **kwargs)

    def compile_from_config(self, config):
        # Keras skips compiling on load when `compile` is overridden; this one only checks.
        self.compile(**keras.saving.deserialize_keras_object(config))
        if getattr(self, "optimizer", None) is not None and self.built:
            self.optimizer.build(self.trainable_variables)

    def fit(self, *args, **kwargs):
        check_strategy_scope(self, "fit")
        x = args[0] if args else kwargs.get("x")
        if len(args) <= _FIT_SHUFFLE_POSITION and _is_dataset(x):
            # Keras ignores `shuffle` for datasets and warns about its default `True`; these
            # models are fed shuffling pipelines (domain_adaptation_dataset, ssl_dataset).
            kwargs.setdefault("shuffle", False)
        return super().fit(*args, **kwargs)

    def _make_function(self, step_function):
        if not _multi_worker(self.distribute_strategy):
            return super()._make_function(step_function)

        def step_with_vector_logs(data):
            logs = step_function(data)
            return keras.tree.map_structure(
                lambda v: keras.ops.reshape(v, (1,)) if len(getattr(v, "shape", (0,))) == 0 else v, logs
            )

        return super()._make_function(step_with_vector_logs)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        if iterator is None or getattr(self, "_distribute_strategy", None) is None:
            return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
        import tensorflow as tf

        strategy = self.distribute_strategy
        for _, _, it in iterator:  # as Keras does: the first batch of the epoch iterator
            batch = next(it)
            data_batch = keras.tree.map_structure(
                lambda v: strategy.experimental_local_results(v)[0]
                if isinstance(v, tf.distribute.DistributedValues) else v,
                batch,
            )
            break
        return super()._maybe_symbolic_build(data_batch=data_batch)
