"""Checking the class names a model carries in its config."""

from keras_transfer import _checks


def output_units(model):
    """The number of outputs of a classifier (1 for a sigmoid unit), or `None` when unknown."""
    try:
        shape = model.output_shape
    except (AttributeError, ValueError, RuntimeError):
        return None
    if isinstance(shape, tuple) and shape and isinstance(shape[-1], int):
        return shape[-1]
    return None


def check(names, model):
    """`names` as a tuple of str, one per output (two for a one-unit sigmoid output), or `None`."""
    if names is None:
        return None
    if isinstance(names, (str, bytes)) or not hasattr(names, "__iter__"):
        raise _checks.invalid("class_names", "a list of str, one per class", names, error=TypeError)
    names = tuple(names)
    if not all(isinstance(name, str) and name for name in names):
        raise _checks.invalid("class_names", "non-empty str names", names, error=TypeError)
    if len(set(names)) != len(names):
        raise _checks.invalid("class_names", "distinct names", names)
    units = output_units(model)
    expected = {units} if units != 1 else {1, 2}
    if units is not None and len(names) not in expected:
        raise _checks.invalid("class_names", f"{units if units != 1 else 2} names (the model's outputs)", names)
    return names
