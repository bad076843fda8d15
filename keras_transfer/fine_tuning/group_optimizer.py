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
from keras_transfer.fine_tuning import _multipliers
from keras_transfer.fine_tuning._applied_ema import AppliedWeightAverage
from keras_transfer.fine_tuning._applied_ema import ema_settings
from keras_transfer.fine_tuning._applied_ema import variable_path as _path
from keras_transfer.fine_tuning._variable_state import merge_call as _merge_call
from keras_transfer.fine_tuning._variable_state import snapshot as _snapshot
from keras_transfer.fine_tuning._variable_state import storage_keys


@keras_transfer_export("keras_transfer.optimizers.GroupOptimizer")
class GroupOptimizer(AppliedWeightAverage, keras.optimizers.Optimizer):
    """Wraps any Keras optimizer with per-variable update multipliers.

    `keras_transfer.callbacks.DiscriminativeLR` and `FreezeSchedule` install
    it on `model.optimizer` for you (inside a `LossScaleOptimizer` under
    `mixed_float16`), with the model's layer groups; use it directly to set
    multipliers by group, layer or variable path.
    `learning_rate`, `iterations`, learning-rate schedules and callbacks such
    as `LearningRateScheduler` act on the inner optimizer.

    Args:
        optimizer: the inner optimizer (instance, name or config).
        multipliers: `{key: factor}`; the update of each variable a key
            matches is multiplied by its factor (> 0), others get 1. A key is
            a group name of `groups`, a layer (`"d1"`: all its variables) or
            a variable path (`"d1/kernel"`; the end of the full path is
            enough); the most specific key wins. A key that matches no
            variable the optimizer updates is refused when it is built.
        name: optimizer name. Defaults to `"group_optimizer"`.
        groups: `{group name: [variable paths]}`, the groups that
            `multipliers` may name (e.g. `keras_transfer.layer_groups`
            stages). Saved with the optimizer, so its config reads
            group -> factor. Defaults to `None`.
        use_ema: keep the exponential moving average of the weights it
            applies (after the per-group rescaling), for
            `keras.callbacks.SwapEMAWeights`; at the end of `fit` the
            model's weights become the average, as with Keras's `use_ema`.
            An inner optimizer's own `use_ema` (which would average before
            the rescaling) is taken over. Defaults to `False`.
        ema_momentum: `average <- m * average + (1 - m) * weights` at each
            step. Defaults to `0.99`.
        ema_overwrite_frequency: `None`, or every how many steps the weights
            are overwritten by their average. Defaults to `None`.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="d")])
    >>> optimizer = keras_transfer.optimizers.GroupOptimizer(
    ...     keras.optimizers.SGD(0.1), multipliers={"d/bias": 0.5})
    >>> model.compile(optimizer, "mse")
    >>> _ = model.fit(np.ones((2, 2)), np.ones((2, 1)), verbose=0)
    >>> optimizer.multiplier(model.layers[0].bias), optimizer.multiplier(model.layers[0].kernel)
    (0.5, 1.0)
    >>> keras_transfer.optimizers.GroupOptimizer("sgd", multipliers={"d2": 0.5}).build(model.weights)
    Traceback (most recent call last):
    ...
    ValueError: Invalid value received for argument `multipliers`: the key 'd2' matches no variable ...
    """

    def __init__(
        self, optimizer, multipliers=None, name=None, *, groups=None,
        use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, **kwargs,
    ):
        if kwargs:
            raise ValueError(
                "GroupOptimizer takes no base optimizer arguments but the EMA ones; set them on the inner "
                f"optimizer. Received: {', '.join(sorted(kwargs))}."
            )
        if isinstance(optimizer, GroupOptimizer):
            raise _checks.invalid("optimizer", "an optimizer that is not already a GroupOptimizer", optimizer, error=TypeError)
        inner = keras.optimizers.get(optimizer)
        if not isinstance(inner, keras.optimizers.Optimizer):
            raise _checks.invalid("optimizer", "a keras.optimizers.Optimizer", optimizer, error=TypeError)
        inner_averages = self._inner_averages(inner)
        use_ema, ema_momentum, ema_overwrite_frequency = ema_settings(inner, use_ema, ema_momentum, ema_overwrite_frequency)
        super().__init__(
            learning_rate=0.0, name=name or "group_optimizer",
            use_ema=use_ema, ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
        )
        self.optimizer = inner
        self.multipliers = _multipliers.check_multipliers(multipliers or {})
        self.groups = _multipliers.check_groups(groups)
        self._factors = {}
        self._check_keys = True  # keys given by code are checked; a loaded config may name later variables
        self._pending_state = {}
        if inner.built:
            self._adopt_built_inner(inner_averages)

    def __dir__(self):
        # Keras saves every attribute that is itself saveable as a child; the
        # inner optimizer's state is saved here, by name, so hide it.
        return [name for name in super().__dir__() if name != "optimizer"]

    # === Multipliers ===

    def set_multipliers(self, multipliers, groups=None):
        """Replaces the multipliers and groups (takes effect at the next trace of `fit`)."""
        multipliers = _multipliers.check_multipliers(multipliers)
        groups = _multipliers.check_groups(groups)
        if self.optimizer.built:
            self._check_known(multipliers, groups, self._built_paths())
        self.multipliers, self.groups, self._factors = multipliers, groups, {}

    def multiplier(self, variable):
        """The update multiplier of `variable` (1.0 unless a key matches it)."""
        return self._factor(_path(variable))

    def _factor(self, path):
        if path not in self._factors:
            self._factors[path] = _multipliers.factor_for(path, self.multipliers, self.groups)
        return self._factors[path]

    def variable_multipliers(self):
        """`{variable path: factor}` for the variables it updates and those of its groups, factors other than 1."""
        paths = dict.fromkeys(self._built_paths() + [p for group in self.groups.values() for p in group])
        factors = {path: self._factor(path) for path in paths}
        return {path: factor for path, factor in factors.items() if factor != 1.0}

    def _built_paths(self):
        if not self.optimizer.built:
            return []
        return [_path(v) for v in self.optimizer._trainable_variables]

    def _check_known(self, multipliers, groups, paths):
        if not self._check_keys:
            return
        known = list(paths) + [p for group in groups.values() for p in group]
        missing = _multipliers.unmatched_keys(multipliers, groups, known)
        if missing:
            raise _multipliers.unmatched_error(missing, groups, known)

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

    # === Building and growing ===

    def _adopt_built_inner(self, previous_averages=None):
        variables = list(self.optimizer._trainable_variables)
        self._build_with_averages(super().build, variables, previous_averages)

    def build(self, var_list):
        self._check_known(self.multipliers, self.groups, [_path(v) for v in var_list] + self._built_paths())
        if not self.optimizer.built:
            self.optimizer.build(var_list)
            self._restore_pending(self.optimizer)
        else:
            self.extend(var_list)
        self._adopt_built_inner()

    def known(self, variable):
        return self.optimizer.built and self.optimizer._var_key(variable) in self.optimizer._trainable_variables_indices

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
        values = dict(zip(storage_keys(old.variables), (v.numpy() for v in old.variables)))
        for key, variable in zip(storage_keys(fresh.variables), fresh.variables):
            if key in values and tuple(values[key].shape) == tuple(variable.shape):
                variable.assign(values[key])
        self._restore_pending(fresh)
        self.optimizer = fresh
        self._adopt_built_inner()
        return True

    def _restore_pending(self, optimizer):
        if not self._pending_state:
            return
        for key, variable in zip(storage_keys(optimizer.variables), optimizer.variables):
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
        first_step = keras.ops.equal(self.iterations, 0) if self.use_ema else None
        self.optimizer.apply(grads, trainable_variables)
        if scaled:
            _merge_call(self._scale_updates, scaled, old)
        if self.use_ema:
            self._update_average(first_step)

    def _call_merged(self, fn):
        return _merge_call(fn)

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
        for key, variable in zip(storage_keys(variables), variables):
            store[key] = variable.numpy()
        for key, value in self._pending_state.items():
            if key not in store:
                store[key] = value
        self._save_averages(store)

    def load_own_variables(self, store):
        keys = list(store.keys())
        values = {key: np.asarray(store[key]) for key in keys}
        self._load_averages(values)
        keys = list(values)
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
        for key, variable in zip(storage_keys(variables), variables):
            if key in values:
                variable.assign(values.pop(key))
        self._pending_state = values

    # === Config ===

    def get_config(self):
        return {
            "name": self.name,
            "optimizer": keras.saving.serialize_keras_object(self.optimizer),
            "multipliers": dict(self.multipliers),
            "groups": {name: list(paths) for name, paths in self.groups.items()} or None,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["optimizer"] = keras.saving.deserialize_keras_object(config["optimizer"], custom_objects=custom_objects)
        optimizer = cls(**config)
        optimizer._check_keys = False  # its keys may name variables that join at a later stage
        return optimizer
