"""Weight-space arithmetic between models of one architecture: copies and weighted sums."""

import keras
import numpy as np

from keras_transfer import _checks


def check_models(name, models, minimum=1):
    """A list of built Keras models with the same weights (count, paths, shapes, dtypes)."""
    if isinstance(models, keras.Model) or not isinstance(models, (list, tuple)):
        raise _checks.invalid(name, "a list of keras.Model", models, error=TypeError)
    models = list(models)
    if len(models) < minimum:
        raise _checks.invalid(name, f"at least {minimum} model(s)", f"{len(models)} model(s)")
    for i, model in enumerate(models):
        if not isinstance(model, keras.Model):
            raise _checks.invalid(f"{name}[{i}]", "a keras.Model", model, error=TypeError)
        if not model.built or not model.weights:
            raise _checks.invalid(f"{name}[{i}]", "a built model with weights", model.name)
    reference = models[0]
    for i, model in enumerate(models[1:], 1):
        mismatch = _first_mismatch(reference, model)
        if mismatch:
            raise _checks.invalid(
                f"{name}[{i}]", f"a model with the weights of {name}[0] (the same architecture)", mismatch,
                hint="Weight averaging needs models fine-tuned from one initialisation.")
    return models


def _first_mismatch(reference, model):
    if len(reference.weights) != len(model.weights):
        return f"{len(model.weights)} weights where {reference.name!r} has {len(reference.weights)}"
    for ours, theirs in zip(reference.weights, model.weights):
        if tuple(ours.shape) != tuple(theirs.shape) or ours.dtype != theirs.dtype:
            return f"weight {theirs.path!r} {tuple(theirs.shape)} {theirs.dtype} where {ours.path!r} is {tuple(ours.shape)} {ours.dtype}"
    return None


def copy_model(model):
    """A new model of the same class and configuration (compiled like it when it was), with its weights."""
    try:
        copy = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model))
    except Exception:  # a model without a config: Keras's own cloning
        copy = keras.models.clone_model(model)
    if _first_mismatch(model, copy):
        raise ValueError(f"Could not copy the model {model.name!r}: its copy has other weights ({_first_mismatch(model, copy)}).")
    copy.set_weights(model.get_weights())
    return copy


def combine(models, coefficients, into=None):
    """`sum_i c_i * w_i` for every floating-point weight, in float64 then cast back; other weights from the last model.

    With coefficients `(1 - a, a)` the result is exactly the first model at
    `a = 0` and exactly the second at `a = 1`.
    """
    values = [model.get_weights() for model in models]
    mixed = []
    for position, reference in enumerate(models[-1].weights):
        last = values[-1][position]
        if not np.issubdtype(last.dtype, np.floating):
            mixed.append(last)
            continue
        total = np.zeros(last.shape, "float64")
        for coefficient, weights in zip(coefficients, values):
            total += float(coefficient) * weights[position].astype("float64")
        mixed.append(total.astype(last.dtype))
    target = into if into is not None else copy_model(models[-1])
    target.set_weights(mixed)
    return target
