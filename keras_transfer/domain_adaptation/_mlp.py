"""The MLP shared by the adversarial domain heads (private)."""

import keras

from keras_transfer import _checks


def check_hidden_units(hidden_units):
    if isinstance(hidden_units, int) and not isinstance(hidden_units, bool):
        hidden_units = (hidden_units,)
    if not isinstance(hidden_units, (list, tuple)):
        raise _checks.invalid(
            "hidden_units", "a list of positive integers", hidden_units, error=TypeError
        )
    for units in hidden_units:
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise _checks.invalid("hidden_units", "a list of positive integers", hidden_units)
    return tuple(int(u) for u in hidden_units)


def check_head_arguments(hidden_units, dropout, lambda_):
    """Validated `(hidden_units, dropout, lambda_)` of a domain head."""
    dropout_value = _checks.check_float("dropout", dropout, minimum=0.0)
    if dropout_value >= 1.0:
        raise _checks.invalid("dropout", "a float between 0 and 1 (excluded)", dropout)
    return check_hidden_units(hidden_units), dropout_value, _checks.check_float("lambda_", lambda_, minimum=0.0)


def build_mlp(owner, hidden_units, dropout):
    """The hidden `Dense(relu)` (+ `Dropout`) layers and the float32 logit of a domain head."""
    layers = []
    for i, units in enumerate(hidden_units):
        layers.append(
            keras.layers.Dense(units, activation="relu", name=f"dense_{i}", dtype=owner.dtype_policy)
        )
        if dropout:
            layers.append(keras.layers.Dropout(dropout, name=f"dropout_{i}", dtype=owner.dtype_policy))
    logit = keras.layers.Dense(1, name="domain_logit", dtype="float32")
    return layers, logit


def run_mlp(layers, logit, x, training):
    for layer in layers:
        x = layer(x, training=training) if isinstance(layer, keras.layers.Dropout) else layer(x)
    return logit(x)


def build_mlp_layers(layers, logit, input_shape):
    shape = tuple(input_shape)
    for layer in layers:
        layer.build(shape)
        shape = tuple(layer.compute_output_shape(shape))
    logit.build(shape)
