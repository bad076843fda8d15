"""`GroupLossScaleOptimizer` and `install`: putting a `GroupOptimizer` on a compiled model."""

import keras
import numpy as np

from keras_transfer.api_export import keras_transfer_export
from keras_transfer.fine_tuning.group_optimizer import GroupOptimizer
from keras_transfer.fine_tuning.group_optimizer import storage_keys


@keras_transfer_export("keras_transfer.optimizers.GroupLossScaleOptimizer")
class GroupLossScaleOptimizer(keras.optimizers.LossScaleOptimizer):
    """A `LossScaleOptimizer` around a `GroupOptimizer`, saved by name.

    Installed instead of Keras's `LossScaleOptimizer` under `mixed_float16`,
    so its own state (loss scale) loads whatever the stage of a freezing
    schedule (Keras's saves variables by position). The `GroupOptimizer`
    inside saves its state by name.
    """

    def save_own_variables(self, store):
        for key, variable in zip(storage_keys(self._variables), self._variables):
            store[key] = variable.numpy()

    def load_own_variables(self, store):
        values = {key: np.asarray(store[key]) for key in store.keys()}
        for key, variable in zip(storage_keys(self._variables), self._variables):
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
