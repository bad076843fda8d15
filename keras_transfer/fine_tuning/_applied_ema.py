"""The weight average of `GroupOptimizer(use_ema=True)`: Polyak averaging of the weights actually applied.

An inner optimizer's own `use_ema` averages its step before `GroupOptimizer`
rescales the change of each variable, so its average is not the average of
any weights the model had. The wrapper takes the average over instead: the
inner optimizer's `use_ema` is switched off and the average is updated after
the rescaling, in the variables `keras.callbacks.SwapEMAWeights` and
`finalize_variable_values` read (`_model_variables_moving_average`, in the
order of `_trainable_variables`), so both work as with a plain optimizer.

When the optimizer learns about more variables mid-`fit` (a freezing
schedule unfreezes a group), the averages of those it knew are kept and a
new variable's average starts at its current value: until now it was not
trained, so that value is the average of what was applied.
"""

import keras

from keras_transfer import _checks

PREFIX = "average:"


def variable_path(variable):
    return getattr(variable, "path", None) or variable.name


def ema_settings(inner, use_ema, ema_momentum, ema_overwrite_frequency):
    """`(use_ema, ema_momentum, ema_overwrite_frequency)` of the wrapper, taking over the inner optimizer's."""
    if not isinstance(use_ema, bool):
        raise _checks.invalid("use_ema", "a bool", use_ema, error=TypeError)
    if getattr(inner, "use_ema", False) and not use_ema:
        # Adopted (e.g. `install` wraps `Adam(use_ema=True)` from compile).
        use_ema, ema_momentum, ema_overwrite_frequency = True, inner.ema_momentum, inner.ema_overwrite_frequency
    if use_ema:
        _checks.check_float("ema_momentum", ema_momentum, minimum=0.0, maximum=1.0)
        if ema_overwrite_frequency is not None:
            _checks.check_int("ema_overwrite_frequency", ema_overwrite_frequency, minimum=1)
    inner.use_ema = False
    return use_ema, ema_momentum, ema_overwrite_frequency


class AppliedWeightAverage:
    """Mixin of `GroupOptimizer`: the moving average of the weights it applied."""

    _pending_averages = None

    def _inner_averages(self, inner):
        """`{variable key: value}` of a built inner optimizer that kept its own average."""
        averages = getattr(inner, "_model_variables_moving_average", None) if inner.built else None
        if not averages:
            return {}
        return {inner._var_key(v): a.numpy() for v, a in zip(inner._trainable_variables, averages) if a is not None}

    def _averages_by_key(self):
        averages = getattr(self, "_model_variables_moving_average", None) if self.use_ema else None
        if not averages or not self.built:
            return {}
        return {self._var_key(v): a for v, a in zip(self._trainable_variables, averages) if a is not None}

    def _build_with_averages(self, build, variables, previous=None):
        """Runs the base `build(variables)`, keeping the averages of known variables."""
        old = self._averages_by_key()
        values = dict(previous or {})
        values.update({key: average.numpy() for key, average in old.items()})
        build(variables)
        if not self.use_ema:
            return
        dropped = {id(average) for average in old.values()}
        self._variables = [v for v in self._variables if id(v) not in dropped]
        pending = self._pending_averages or {}
        for variable, average in zip(self._trainable_variables, self._model_variables_moving_average):
            if average is None:
                continue
            key, path = self._var_key(variable), _key(variable)
            if path in pending:
                average.assign(pending.pop(path))
            elif key in values:
                average.assign(values[key])
            else:
                average.assign(variable)

    def _update_average(self, first_step):
        """After the step and the rescaling: `average <- m * average + (1 - m) * weights` (`= weights` at step 0)."""
        momentum = keras.ops.where(first_step, 0.0, self.ema_momentum)

        def update(distribution):
            def step(average, value):
                m = keras.ops.cast(momentum, average.dtype)
                average.assign(m * average + (1.0 - m) * keras.ops.cast(value, average.dtype))

            for variable, average in self._pairs():
                distribution.extended.update(_value(average), step, args=(_value(variable),), group=False)

        self._call_merged(update)
        if self.ema_overwrite_frequency:
            overwrite = keras.ops.equal(self.iterations % self.ema_overwrite_frequency, 0)
            keras.ops.cond(overwrite, lambda: self._call_merged(self._overwrite_weights), lambda: None)

    def _pairs(self):
        return [(v, a) for v, a in zip(self._trainable_variables, self._model_variables_moving_average) if a is not None]

    def _overwrite_weights(self, distribution, pairs=None):
        for variable, average in pairs if pairs is not None else self._pairs():
            distribution.extended.update(_value(variable), lambda a, b: a.assign(b), args=(_value(average),), group=False)

    def finalize_variable_values(self, var_list):
        """At the end of `fit`, as Keras does with `use_ema`: the model's weights become their averages."""
        if not self.use_ema:
            self.optimizer.finalize_variable_values(var_list)
            return
        averages = self._averages_by_key()
        pairs = [(v, averages[self._var_key(v)]) for v in var_list if self._var_key(v) in averages]
        self._overwrite_weights(self._distribution_strategy, pairs)

    def _save_averages(self, store):
        if self.use_ema and self.built:
            for variable, average in self._pairs():
                store[_key(variable)] = average.numpy()

    def _load_averages(self, values):
        """Takes the averages out of `values` (a loaded store); those of unknown variables wait for them."""
        averages = {key: values.pop(key) for key in list(values) if key.startswith(PREFIX)}
        if self.use_ema and self.built:
            for variable, average in self._pairs():
                value = averages.pop(_key(variable), None)
                if value is not None:
                    average.assign(value)
        self._pending_averages = {**(self._pending_averages or {}), **averages}


def _key(variable):
    """The storage key of a variable's average (no `/`: the weights file would make it a group)."""
    return PREFIX + variable_path(variable).replace("/", "|")


def _value(variable):
    return variable.value if isinstance(variable, keras.Variable) else variable
