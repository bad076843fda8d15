"""Maps a batch of images from one model's input convention to another's.

Three things can differ between a generator's output, a source classifier's
input and a target model's input: the value range (e.g. [0, 1] vs [0, 255]),
the channels (grayscale vs RGB) and the spatial size. `check_adaptable` decides
at construction time whether a mapping exists (and raises an error that shows
both shapes when it does not); `adapt` applies it with `keras.ops` only, so it
compiles with XLA inside a train step.
"""

import math

from keras import ops

from keras_transfer import _checks

_LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601


def _shape(shape):
    return tuple(None if d is None else int(d) for d in shape)


def check_adaptable(from_shape, to_shape, *, argument, what_from, what_to):
    """Raises `ValueError` when `from_shape` images cannot become `to_shape` ones.

    Shapes exclude the batch axis. Allowed: equal shapes; flat vectors of the
    same size (reshaped); images `(h, w, c)` with any size change (resized) and
    channels equal, 1 -> c (tiled) or 3 -> 1 (luma).
    """
    from_shape, to_shape = _shape(from_shape), _shape(to_shape)
    if from_shape == to_shape:
        return
    problem = None
    if None in from_shape or None in to_shape:
        if len(from_shape) != len(to_shape):
            problem = "their ranks differ"
    elif len(from_shape) != 3 or len(to_shape) != 3:
        if math.prod(from_shape) != math.prod(to_shape):
            problem = "they differ and are not both images (height, width, channels) nor reshapable"
    else:
        c_from, c_to = from_shape[-1], to_shape[-1]
        if not (c_from == c_to or c_from == 1 or (c_from == 3 and c_to == 1)):
            problem = f"{c_from} channels cannot become {c_to} (only equal, 1 -> any, 3 -> 1)"
    if problem:
        raise ValueError(
            f"Invalid value received for argument `{argument}`: {what_from} of shape "
            f"{from_shape} cannot be adapted to {what_to} of shape {to_shape}: {problem}."
        )


def adapt(images, from_shape, to_shape, from_range, to_range):
    """Rescales values, reshapes or resizes and matches channels (float32 out)."""
    from_shape, to_shape = _shape(from_shape), _shape(to_shape)
    x = ops.cast(images, "float32")
    if tuple(from_range) != tuple(to_range):
        scale = (to_range[1] - to_range[0]) / (from_range[1] - from_range[0])
        x = (x - from_range[0]) * scale + to_range[0]
    if from_shape == to_shape:
        return x
    if len(from_shape) != 3 or len(to_shape) != 3:
        return ops.reshape(x, (-1, *to_shape))
    c_from, c_to = from_shape[-1], to_shape[-1]
    if c_from != c_to:
        if c_from == 1:
            x = ops.repeat(x, c_to, axis=-1)
        else:
            weights = ops.convert_to_tensor(_LUMA, dtype="float32")
            x = ops.sum(x * weights, axis=-1, keepdims=True)
    if from_shape[:2] != to_shape[:2] and None not in to_shape[:2]:
        x = ops.image.resize(x, to_shape[:2], interpolation="bilinear", antialias=False)
    return x


def check_value_range(name, value_range):
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
        raise _checks.invalid(name, "a pair (low, high) of numbers", value_range, error=TypeError)
    low = _checks.check_float(name, value_range[0])
    high = _checks.check_float(name, value_range[1])
    if not high > low:
        raise _checks.invalid(name, "a pair (low, high) with high > low", value_range)
    return (low, high)


def model_input_shape(model, argument, *, required=True, given=None):
    """The single, fully known input shape of `model` (no batch axis).

    `given` wins when not `None`. Otherwise a `ValueError` naming `argument`
    when the shape cannot be read and `required`, else `None`.
    """
    if given is not None:
        return tuple(int(d) for d in given)
    try:
        shape = model.input_shape
    except (AttributeError, ValueError):
        shape = None
    if isinstance(shape, list) and len(shape) == 1:
        shape = shape[0]
    if isinstance(shape, tuple) and None not in shape[1:]:
        return tuple(int(d) for d in shape[1:])
    if required:
        raise ValueError(
            f"Invalid value received for argument `{argument}`: expected a functional Keras model "
            f"with one fully known input shape. Received: {argument}.input_shape={shape}."
        )
    return None
