"""`DiscriminativeLR`: a learning-rate multiplier per layer group."""

import keras

from keras_transfer import _checks
from keras_transfer.groups.naming import check_group_names
from keras_transfer.groups.naming import resolve_groups
from keras_transfer.groups.variables import group_variable_paths
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.fine_tuning.group_loss_scale_optimizer import install


def group_factors(names, *, multipliers=None, decay=None, lr_range=None):
    """`{group: factor}` for ordered group `names` (input first, head last).

    >>> from keras_transfer.fine_tuning.discriminative_lr import group_factors
    >>> group_factors(["a", "b", "head"], decay=0.5)
    {'a': 0.25, 'b': 0.5, 'head': 1.0}
    >>> group_factors(["a", "b", "head"], lr_range=(1e-4, 1e-2))
    {'a': 0.01, 'b': 0.1, 'head': 1.0}
    """
    n = len(names)
    if multipliers is not None:
        return {name: float(multipliers.get(name, 1.0)) for name in names}
    if decay is not None:
        return {name: float(decay) ** (n - 1 - i) for i, name in enumerate(names)}
    low, high = lr_range
    ratio = low / high
    if n == 1:
        return {names[0]: 1.0}
    return {name: float(round(ratio ** ((n - 1 - i) / (n - 1)), 12)) for i, name in enumerate(names)}


@keras_transfer_export("keras_transfer.callbacks.DiscriminativeLR")
class DiscriminativeLR(keras.callbacks.Callback):
    """A learning-rate multiplier per layer group (layer-wise decay).

    Scales each group's *update*, not its gradient, so the factors are exact
    for Adam-family optimizers (which normalise gradients), AdamW's decoupled
    weight decay included, and for any other Keras optimizer, with constant
    rates or schedules. It installs a `keras_transfer.optimizers.GroupOptimizer`
    on the model; the multipliers are part of its config, so they survive
    `model.save` / `keras.models.load_model`. Composes with `FreezeSchedule`.

    Give exactly one of:

    Args:
        multipliers: `{group: factor}` (> 0); groups not named get 1.0.
        decay: `d` in (0, 1]: the head gets 1, the last backbone group `d`,
            the one before `d**2`, and so on.
        lr_range: `(lo, hi)`, like fastai's `slice(lo, hi)`: rates spread
            geometrically from `lo` (first group) to `hi` (head). If the
            optimizer's learning rate is a constant it is set to `hi`; with a
            schedule, the schedule gives the head's rate and the spread is
            `lo / hi`.
        groups: explicit groups `{name: [layer names or regexes]}`.
        verbose: print the factor of each group at the start of `fit`.

    Each group's effective learning rate is logged at the end of every epoch
    as `learning_rate/<group>` (the optimizer's current rate, schedules
    included, times the group's factor), so `History`, `CSVLogger` (listed
    after this callback) and `TensorBoard` show it.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> model = keras_transfer.build_classifier(
    ...     "vgg16", 2, weights=None, input_shape=(32, 32, 3), freeze=False)
    >>> model.compile("adam", "sparse_categorical_crossentropy")
    >>> callback = keras_transfer.callbacks.DiscriminativeLR(decay=0.5)
    >>> _ = model.fit(np.zeros((2, 32, 32, 3)), np.array([0, 1]),
    ...               callbacks=[callback], verbose=0)
    >>> callback.group_multipliers["block4"], callback.group_multipliers["head"]
    (0.25, 1.0)

    Reference:
        Howard & Ruder, Universal Language Model Fine-tuning for Text
        Classification (ULMFiT, 2018).
    """

    def __init__(self, multipliers=None, *, decay=None, lr_range=None, groups=None, verbose=0):
        super().__init__()
        given = [name for name, value in (("multipliers", multipliers), ("decay", decay), ("lr_range", lr_range)) if value is not None]
        if len(given) != 1:
            raise ValueError(
                "Pass exactly one of `multipliers`, `decay` or `lr_range` to DiscriminativeLR. "
                f"Received: {', '.join(given) or 'none of them'}."
            )
        if multipliers is not None:
            if not isinstance(multipliers, dict) or not multipliers:
                raise _checks.invalid("multipliers", "a non-empty dict {group name: factor}", multipliers, error=TypeError)
            multipliers = {
                name: _checks.check_float(f"multipliers[{name!r}]", value, minimum=0.0, exclusive_minimum=True)
                for name, value in multipliers.items()
            }
        if decay is not None:
            decay = _checks.check_float("decay", decay, minimum=0.0, exclusive_minimum=True, maximum=1.0)
        if lr_range is not None:
            if not (isinstance(lr_range, (tuple, list)) and len(lr_range) == 2):
                raise _checks.invalid("lr_range", "a pair (lo, hi)", lr_range, error=TypeError)
            low = _checks.check_float("lr_range", lr_range[0], minimum=0.0, exclusive_minimum=True)
            high = _checks.check_float("lr_range", lr_range[1], minimum=0.0, exclusive_minimum=True)
            if low > high:
                raise _checks.invalid("lr_range", "lo <= hi", lr_range)
            lr_range = (low, high)
        if groups is not None and not isinstance(groups, dict):
            raise _checks.invalid("groups", "a dict {group name: [layer names or regexes]}", groups, error=TypeError)
        self.multipliers = multipliers
        self.decay = decay
        self.lr_range = lr_range
        self.groups = groups
        self.verbose = verbose
        self.group_multipliers = None

    def set_model(self, model):
        super().set_model(model)
        mapping = resolve_groups(model, self.groups)
        if self.multipliers is not None:
            check_group_names("multipliers", list(self.multipliers), mapping)
        names = list(mapping)
        factors = group_factors(names, multipliers=self.multipliers, decay=self.decay, lr_range=self.lr_range)
        paths = group_variable_paths(mapping)
        scaled = {name: factor for name, factor in factors.items() if factor != 1.0 and name in paths}
        groups = {name: paths[name] for name in scaled}
        optimizer = install(model)
        if (scaled, groups) != (optimizer.multipliers, optimizer.groups):
            optimizer.set_multipliers(scaled, groups)
            model.train_function = None  # the factors are constants of the traced step
        if self.lr_range is not None and isinstance(optimizer.optimizer._learning_rate, keras.Variable):
            optimizer.learning_rate = self.lr_range[1]
        self.group_multipliers = factors
        if self.verbose:
            print("DiscriminativeLR: " + ", ".join(f"{g} x{f:.3g}" for g, f in factors.items()))

    def on_epoch_end(self, epoch, logs=None):
        """Logs each group's effective rate (the optimizer's current rate x its factor) as `learning_rate/<group>`."""
        if logs is None or not self.group_multipliers:
            return
        rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        for group, factor in self.group_multipliers.items():
            logs[f"learning_rate/{group}"] = rate * factor
