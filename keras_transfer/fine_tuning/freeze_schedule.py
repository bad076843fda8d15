"""`FreezeSchedule`: unfreeze layer groups during `fit`, for real."""

import numbers

import keras

from keras_transfer import _checks
from keras_transfer.groups import freezing
from keras_transfer.groups.naming import check_group_names
from keras_transfer.groups.naming import resolve_groups
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.fine_tuning.group_loss_scale_optimizer import install
from keras_transfer.utils import retracing

UNITS = ("epoch", "step")


def _check_schedule(schedule):
    if isinstance(schedule, dict):
        items = list(schedule.items())
        ordered = sorted(items, key=lambda item: item[0] if isinstance(item[0], numbers.Real) else 0)
    elif isinstance(schedule, (list, tuple)):
        items = [tuple(item) if isinstance(item, (list, tuple)) and len(item) == 2 else item for item in schedule]
        for item in items:
            if not (isinstance(item, tuple) and len(item) == 2):
                raise _checks.invalid("schedule", "a dict {epoch: groups} or a list of (epoch, groups) pairs", schedule, error=TypeError)
        ordered = items
    else:
        raise _checks.invalid("schedule", 'a dict {epoch: [group names] or "all"}', schedule, error=TypeError)
    if not ordered:
        raise _checks.invalid("schedule", "at least one entry", schedule)
    previous = None
    checked = []
    for when, value in ordered:
        if isinstance(when, bool) or not isinstance(when, numbers.Integral):
            raise _checks.invalid("schedule", "integer epoch (or step) keys", schedule, error=TypeError)
        if when < 0:
            raise _checks.invalid("schedule", "epoch (or step) keys >= 0", schedule, hint=f"Key {when} is negative.")
        if previous is not None and when <= previous:
            raise _checks.invalid("schedule", "strictly increasing epochs (or steps)", schedule, hint=f"{when} follows {previous}.")
        previous = when
        if isinstance(value, str):
            value = "all" if value == "all" else [value]
        elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            value = list(value)
        else:
            raise _checks.invalid("schedule", 'values that are a list of group names or "all"', schedule, error=TypeError)
        checked.append((int(when), value))
    return checked


@keras_transfer_export("keras_transfer.callbacks.FreezeSchedule")
class FreezeSchedule(keras.callbacks.Callback):
    """Unfreezes layer groups at given epochs (or steps) during `fit`.

    Setting `layer.trainable` in a callback does nothing in Keras 3 (the train
    function was traced with the old variables) and forcing a retrace breaks
    the optimizer. This callback owns both problems: it wraps the optimizer in
    a `keras_transfer.optimizers.GroupOptimizer` built for every variable the
    schedule will ever train (state of variables already training is kept),
    changes trainability at the scheduled epochs, and retraces the train
    function once per stage change, with `jit_compile` on or off. Frozen
    groups keep BatchNormalization in inference mode; unfrozen groups keep it
    frozen too unless `train_batchnorm=True` (the Keras guide's default vs
    fastai's habit). The stage is logged as `freeze_stage` in the history.
    Resuming with `keras.callbacks.BackupAndRestore` or from a checkpoint
    re-applies the stage of the resumed epoch.

    Args:
        schedule: `{epoch: [group names] or "all"}`; the groups become
            trainable at the start of that epoch, cumulatively. Groups never
            named keep the trainability they had when `fit` began (so the head
            of a `build_classifier(..., freeze=True)` model trains from epoch
            0). A list of `(epoch, groups)` pairs is accepted too.
        unit: `"epoch"` (default) or `"step"` (keys count optimizer steps,
            `model.optimizer.iterations`, which checkpoints restore).
        groups: explicit groups `{name: [layer names or regexes]}`; by default
            the model's own (`keras_transfer.layer_groups(model)`).
        train_batchnorm: let BatchNormalization layers of unfrozen groups
            train (batch statistics, moving averages, scale and offset).
            Defaults to `False`.
        verbose: print each stage change. Defaults to `0`.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> model = keras_transfer.build_classifier(
    ...     "vgg16", 2, weights=None, input_shape=(32, 32, 3))
    >>> model.compile("adam", "sparse_categorical_crossentropy")
    >>> schedule = keras_transfer.callbacks.FreezeSchedule({1: ["block5"]})
    >>> history = model.fit(np.zeros((4, 32, 32, 3)), np.array([0, 1, 0, 1]),
    ...                     epochs=2, callbacks=[schedule], verbose=0)
    >>> history.history["freeze_stage"]
    [0.0, 1.0]
    """

    def __init__(self, schedule=None, *, unit="epoch", groups=None, train_batchnorm=False, verbose=0, _gradual=None):
        super().__init__()
        self.unit = _checks.check_choice("unit", unit, UNITS)
        if not isinstance(train_batchnorm, bool):
            raise _checks.invalid("train_batchnorm", "a bool", train_batchnorm, error=TypeError)
        if groups is not None and not isinstance(groups, dict):
            raise _checks.invalid("groups", "a dict {group name: [layer names or regexes]}", groups, error=TypeError)
        self._gradual = _gradual
        self.schedule = None if _gradual else _check_schedule(schedule)
        self.groups = groups
        self.train_batchnorm = train_batchnorm
        self.verbose = int(verbose) if isinstance(verbose, bool) else _checks.check_int("verbose", verbose, minimum=0)
        self.retraces = 0
        self.stage = None
        self._mapping = None

    @classmethod
    def gradual(cls, every=1, *, start=1, groups=None, **kwargs):
        """One more group every `every` epochs, from the head toward the input.

        The head trains from the first epoch (as built); the last backbone
        group joins at epoch `start`, the one before at `start + every`, and
        so on (ULMFiT's gradual unfreezing).

        >>> import keras_transfer
        >>> callback = keras_transfer.callbacks.FreezeSchedule.gradual(every=2)
        >>> callback.unit
        'epoch'
        """
        every = _checks.check_int("every", every, minimum=1)
        start = _checks.check_int("start", start, minimum=0)
        return cls(groups=groups, _gradual=(every, start), **kwargs)

    # === Set-up (before any training work, and before BackupAndRestore loads) ===

    def set_model(self, model):
        super().set_model(model)
        mapping = resolve_groups(model, self.groups)
        if self._gradual:
            every, start = self._gradual
            backbone = [name for name in mapping if name != "head"]
            self.schedule = [(start + i * every, [name]) for i, name in enumerate(reversed(backbone))]
        for _, names in self.schedule:
            if names != "all":
                check_group_names("schedule", names, mapping)
        self._mapping = mapping
        self._snapshot = freezing.trainable_snapshot(model)
        self.stage = None
        optimizer = install(model)
        # Build the optimizer for every variable any stage will train, so
        # state loads by name whatever the stage, and nothing is rebuilt later.
        self._apply(len(self.schedule))
        every_variable = list(model.trainable_variables)
        freezing.restore_trainable(model, self._snapshot)
        with model.distribute_strategy.scope():
            optimizer.extend(every_variable)

    def _stage_for(self, index):
        return sum(1 for when, _ in self.schedule if when <= index)

    def _unfrozen(self, stage):
        names = set()
        for _, groups in self.schedule[:stage]:
            names.update(self._mapping if groups == "all" else groups)
        return names

    def _apply(self, stage):
        """Trainability of `stage`: as at the start of `fit`, plus the unfrozen groups."""
        freezing.restore_trainable(self.model, self._snapshot)
        unfrozen = self._unfrozen(stage)
        state = {layer: True for name in unfrozen for layer in self._mapping[name]}
        freezing.apply_trainable_state(self.model, state, train_batchnorm=self.train_batchnorm)

    def _set_stage(self, stage, when):
        if stage == self.stage:
            return
        before = [id(v) for v in self.model.trainable_variables]
        self._apply(stage)
        self.stage = stage
        after = [id(v) for v in self.model.trainable_variables]
        if hasattr(self.model, "_compiled_trainable_state"):
            # We handle the change: no "recompile your model" warning later.
            self.model._compiled_trainable_state = {
                layer: layer.trainable for layer in self.model._flatten_layers()
            }
        if after != before:
            optimizer = install(self.model)
            with self.model.distribute_strategy.scope():
                optimizer.extend(self.model.trainable_variables)
            self.model.make_train_function(force=True)
            self.retraces += 1
        if self.verbose:
            training = [name for name, layers in self._mapping.items() if any(l.trainable and l.weights for l in layers)]
            print(f"FreezeSchedule: {self.unit} {when}: stage {stage}, training {', '.join(training) or 'nothing'}")

    # === Training hooks ===

    def on_train_begin(self, logs=None):
        self.retraces = 0
        retracing.quiet()  # a new train step per stage is the design, not a mistake

    def on_train_end(self, logs=None):
        retracing.loud()

    def on_epoch_begin(self, epoch, logs=None):
        if self.unit == "epoch":
            self._set_stage(self._stage_for(epoch), epoch)
        else:
            self._set_stage(self._stage_for(int(self.model.optimizer.iterations)), int(self.model.optimizer.iterations))

    def on_train_batch_begin(self, batch, logs=None):
        if self.unit == "step":
            step = int(self.model.optimizer.iterations)
            self._set_stage(self._stage_for(step), step)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self.stage is not None:
            logs["freeze_stage"] = float(self.stage)
