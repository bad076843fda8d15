"""`GroupOptimizer`: per-variable update multipliers and a growable variable set.

Two things Keras optimizers cannot do, which freezing schedules and
discriminative learning rates need:

1. **Scale the update of each variable by its own factor.** Scaling gradients
   does not work for Adam-family optimizers (they normalise the gradient), so
   the wrapper lets the inner optimizer take its full step (clipping, weight
   decay, momentum, loss scaling included) and then scales the change:
   `w <- w_old + m * (w_new - w_old)`. That is exact for any optimizer whose
   step is proportional to its learning rate (SGD, momentum, Adam, AdamW with
   its decoupled weight decay, RMSprop, Adagrad, Lion...).
2. **Learn about variables that start training mid-`fit`** without losing the
   state (moments, iteration count) of those already training: `extend`
   rebuilds the inner optimizer over more variables and copies the state by
   variable name. State is saved by name too, so a checkpoint written at any
   stage of a schedule loads into a model at any other stage; state of
   variables the optimizer does not know yet is kept until they join.

`keras.optimizers.MultiOptimizer` looks like the answer but cannot restore
its state after `fit` (shape mismatch), cannot update a subset of its
variables, and has no readable `learning_rate` (checked with Keras 3.15).
"""

import keras
import numpy as np

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export


def _keys(variables):
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


def _path(variable):
    return getattr(variable, "path", None) or variable.name


def _var_id(optimizer, variable):
    return optimizer._var_key(variable)


def _snapshot(variable):
    """The variable's current value as a new tensor (not a live reference)."""
    import tensorflow as tf

    return tf.identity(variable.value if isinstance(variable, keras.Variable) else variable)


def _merge_call(fn, *args):
    import tensorflow as tf

    strategy = tf.distribute.get_strategy()
    return tf.__internal__.distribute.interim.maybe_merge_call(fn, strategy, *args)


@keras_transfer_export("keras_transfer.optimizers.GroupOptimizer")
class GroupOptimizer(keras.optimizers.Optimizer):
    """Wraps any Keras optimizer with per-variable update multipliers.

    `keras_transfer.callbacks.DiscriminativeLR` and `FreezeSchedule` install
    it on `model.optimizer` for you (inside a `LossScaleOptimizer` under
    `mixed_float16`); use it directly to set multipliers by variable path.
    `learning_rate`, `iterations`, learning-rate schedules and callbacks such
    as `LearningRateScheduler` act on the inner optimizer.

    Args:
        optimizer: the inner optimizer (instance, name or config).
        multipliers: `{variable path: factor}`; the update of each listed
            variable is multiplied by its factor (> 0). Others get 1.
        name: optimizer name. Defaults to `"group_optimizer"`.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="d")])
    >>> optimizer = keras_transfer.optimizers.GroupOptimizer(
    ...     keras.optimizers.SGD(0.1), multipliers={"d/bias": 0.5})
    >>> model.compile(optimizer, "mse")
    >>> round(float(optimizer.learning_rate), 6)
    0.1
    """

    def __init__(self, optimizer, multipliers=None, name=None, **kwargs):
        if kwargs:
            raise ValueError(
                "GroupOptimizer takes no base optimizer arguments; set them on the inner "
                f"optimizer. Received: {', '.join(sorted(kwargs))}."
            )
        super().__init__(learning_rate=0.0, name=name or "group_optimizer")
        if isinstance(optimizer, GroupOptimizer):
            raise _checks.invalid("optimizer", "an optimizer that is not already a GroupOptimizer", optimizer, error=TypeError)
        inner = keras.optimizers.get(optimizer)
        if not isinstance(inner, keras.optimizers.Optimizer):
            raise _checks.invalid("optimizer", "a keras.optimizers.Optimizer", optimizer, error=TypeError)
        self.optimizer = inner
        self.multipliers = self._check_multipliers(multipliers or {})
        self._pending_state = {}
        if inner.built:
            self._adopt_built_inner()

    def __dir__(self):
        # Keras saves every attribute that is itself saveable as a child; the
        # inner optimizer's state is saved here, by name, so hide it.
        return [name for name in super().__dir__() if name != "optimizer"]

    # === Multipliers ===

    @staticmethod
    def _check_multipliers(multipliers):
        if not isinstance(multipliers, dict):
            raise _checks.invalid("multipliers", "a dict {variable path: factor}", multipliers, error=TypeError)
        checked = {}
        for path, factor in multipliers.items():
            checked[str(path)] = _checks.check_float(f"multipliers[{path!r}]", factor, minimum=0.0, exclusive_minimum=True)
        return checked

    def set_multipliers(self, multipliers):
        """Replaces the multipliers (takes effect at the next trace of `fit`)."""
        self.multipliers = self._check_multipliers(multipliers)

    def multiplier(self, variable):
        """The update multiplier of `variable` (1.0 unless listed)."""
        return self.multipliers.get(_path(variable), 1.0)

    # === Delegation ===

    @property
    def learning_rate(self):
        return self.optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        if hasattr(self, "optimizer"):  # the base constructor sets it first
            self.optimizer.learning_rate = learning_rate

    @property
    def iterations(self):
        return self.optimizer.iterations

    @property
    def variables(self):
        return self.optimizer.variables

    def scale_loss(self, loss):
        return self.optimizer.scale_loss(loss)

    def finalize_variable_values(self, var_list):
        self.optimizer.finalize_variable_values(var_list)

    # === Building and growing ===

    def _adopt_built_inner(self):
        variables = list(self.optimizer._trainable_variables)
        super().build(variables)

    def build(self, var_list):
        if not self.optimizer.built:
            self.optimizer.build(var_list)
            self._restore_pending(self.optimizer)
        else:
            self.extend(var_list)
        self._adopt_built_inner()

    def known(self, variable):
        return self.optimizer.built and _var_id(self.optimizer, variable) in self.optimizer._trainable_variables_indices

    def extend(self, var_list):
        """Makes the optimizer know `var_list` too, keeping all existing state.

        Returns `True` if new variables were added (the inner optimizer was
        rebuilt: retrace the train function before the next step).
        """
        if not self.optimizer.built:
            self.build(list(var_list))
            return True
        new = [v for v in var_list if not self.known(v)]
        if not new:
            return False
        old = self.optimizer
        fresh = old.__class__.from_config(old.get_config())
        fresh.build(list(old._trainable_variables) + new)
        values = dict(zip(_keys(old.variables), (v.numpy() for v in old.variables)))
        for key, variable in zip(_keys(fresh.variables), fresh.variables):
            if key in values and tuple(values[key].shape) == tuple(variable.shape):
                variable.assign(values[key])
        self._restore_pending(fresh)
        self.optimizer = fresh
        self._adopt_built_inner()
        return True

    def _restore_pending(self, optimizer):
        if not self._pending_state:
            return
        for key, variable in zip(_keys(optimizer.variables), optimizer.variables):
            value = self._pending_state.get(key)
            if value is not None and tuple(value.shape) == tuple(variable.shape):
                variable.assign(value)
                del self._pending_state[key]

    # === Updates ===

    def apply(self, grads, trainable_variables=None):
        if trainable_variables is None:
            return self.optimizer.apply(grads)
        trainable_variables = list(trainable_variables)
        if not self.built:
            self.build(trainable_variables)
        unknown = [v for v in trainable_variables if not self.known(v)]
        if unknown:
            import tensorflow as tf

            if not tf.executing_eagerly():
                raise ValueError(
                    "GroupOptimizer was called inside a compiled function with variables it was "
                    f"not built for (first: {_path(unknown[0])!r}). Trainability changed after the "
                    "optimizer was built: use keras_transfer.callbacks.FreezeSchedule, call "
                    "`optimizer.extend(model.trainable_variables)` before `fit`, or recompile."
                )
            self.extend(trainable_variables)
        scaled = [(v, self.multiplier(v)) for v in trainable_variables if self.multiplier(v) != 1.0]
        old = [_snapshot(v) for v, _ in scaled]
        self.optimizer.apply(grads, trainable_variables)
        if scaled:
            _merge_call(self._scale_updates, scaled, old)

    def _scale_updates(self, distribution, scaled, old):
        def rescale(variable, before, factor):
            before = keras.ops.cast(before, variable.dtype)
            variable.assign(before + keras.ops.cast(factor, variable.dtype) * (variable - before))

        for (variable, factor), before in zip(scaled, old):
            target = variable.value if isinstance(variable, keras.Variable) else variable
            distribution.extended.update(target, rescale, args=(before, factor), group=False)

    # === Saving (by name, so any stage of a schedule loads into any other) ===

    def save_own_variables(self, store):
        variables = self.optimizer.variables
        for key, variable in zip(_keys(variables), variables):
            store[key] = variable.numpy()
        for key, value in self._pending_state.items():
            if key not in store:
                store[key] = value

    def load_own_variables(self, store):
        keys = list(store.keys())
        values = {key: np.asarray(store[key]) for key in keys}
        variables = self.optimizer.variables
        if keys and all(k.isdigit() for k in keys):  # positional (a plain optimizer's file)
            if len(keys) != len(variables):
                raise ValueError(
                    f"Cannot load optimizer state: the file has {len(keys)} positional variables, "
                    f"the optimizer {len(variables)}."
                )
            for i, variable in enumerate(variables):
                variable.assign(values[str(i)])
            return
        for key, variable in zip(_keys(variables), variables):
            if key in values:
                variable.assign(values.pop(key))
        self._pending_state = values

    # === Config ===

    def get_config(self):
        return {
            "name": self.name,
            "optimizer": keras.saving.serialize_keras_object(self.optimizer),
            "multipliers": dict(self.multipliers),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["optimizer"] = keras.saving.deserialize_keras_object(config["optimizer"], custom_objects=custom_objects)
        return cls(**config)


@keras_transfer_export("keras_transfer.optimizers.GroupLossScaleOptimizer")
class GroupLossScaleOptimizer(keras.optimizers.LossScaleOptimizer):
    """A `LossScaleOptimizer` around a `GroupOptimizer`, saved by name.

    Installed instead of Keras's `LossScaleOptimizer` under `mixed_float16`,
    so its own state (loss scale) loads whatever the stage of a freezing
    schedule (Keras's saves variables by position). The `GroupOptimizer`
    inside saves its state by name.
    """

    def save_own_variables(self, store):
        for key, variable in zip(_keys(self._variables), self._variables):
            store[key] = variable.numpy()

    def load_own_variables(self, store):
        values = {key: np.asarray(store[key]) for key in store.keys()}
        for key, variable in zip(_keys(self._variables), self._variables):
            if key in values:
                variable.assign(values[key])

    def build(self, var_list):
        if self.built:
            self.inner_optimizer.build(var_list)
            return
        super().build(var_list)


def install(model):
    """Makes `model.optimizer` a `GroupOptimizer` (once) and returns it.

    Keeps a `LossScaleOptimizer` outermost (as Keras's `compile` expects under
    `mixed_float16`) and updates the model's compile config, so `model.save`
    and `keras.models.load_model` restore the same optimizer.
    """
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not getattr(model, "compiled", False):
        raise ValueError(
            f"The model {model.name!r} is not compiled. Call `model.compile(optimizer=..., loss=...)` "
            "before `fit` with keras_transfer callbacks."
        )
    if isinstance(optimizer, GroupOptimizer):
        return optimizer
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        inner = optimizer.inner_optimizer
        if isinstance(inner, GroupOptimizer) and isinstance(optimizer, GroupLossScaleOptimizer):
            return inner
        group = inner if isinstance(inner, GroupOptimizer) else GroupOptimizer(inner)
        with model.distribute_strategy.scope():
            wrapper = GroupLossScaleOptimizer(
                group,
                initial_scale=optimizer.initial_scale,
                dynamic_growth_steps=optimizer.dynamic_growth_steps,
                name=optimizer.name,
            )
            if optimizer.built:
                wrapper.build(list(inner._trainable_variables))
                wrapper.dynamic_scale.assign(optimizer.dynamic_scale)
                wrapper.step_counter.assign(optimizer.step_counter)
        model.optimizer = wrapper
        _set_compiled_optimizer(model, wrapper)
        return group
    with model.distribute_strategy.scope():
        group = GroupOptimizer(optimizer)
    model.optimizer = group
    _set_compiled_optimizer(model, group)
    return group


def _set_compiled_optimizer(model, optimizer):
    config = getattr(model, "_compile_config", None)
    if config is not None and hasattr(config, "config"):
        config.config["optimizer"] = optimizer
