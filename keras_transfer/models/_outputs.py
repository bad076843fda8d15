"""What a classifier outputs: class probabilities or logits.

Wrappers that read a classifier's outputs (`PseudoSSLGenerator`, `FixMatch`,
`Distiller`) must know whether to apply a softmax. `output_kind` reads it from
the model's last layer when it can; otherwise `probe_output_kind` runs the
model once on random inputs and checks whether rows are probability vectors.
"""

import keras
import numpy as np
from keras import ops

PROBABILITIES = "probabilities"
LOGITS = "logits"
OTHER = "other"


def _last_layer(model):
    """The layer producing a functional model's single output (through nesting)."""
    layer = model
    for _ in range(32):
        if not isinstance(layer, keras.Model):
            return layer
        try:
            outputs = layer.outputs
        except (AttributeError, ValueError):
            return None
        if not outputs or len(outputs) != 1:
            return None
        history = getattr(outputs[0], "_keras_history", None)
        if history is None:
            return None
        layer = history.operation
    return None


def _kind_of_activation(activation):
    name = getattr(activation, "__name__", None)
    if name == "softmax":
        return PROBABILITIES
    if name == "linear":
        return LOGITS
    if name is not None:
        return OTHER
    return None


def output_kind(model):
    """`"probabilities"`, `"logits"`, `"other"` (e.g. sigmoid) or `None` (unknown)."""
    layer = _last_layer(model)
    if layer is None:
        return None
    if isinstance(layer, keras.layers.Softmax):
        return PROBABILITIES
    if isinstance(layer, keras.layers.Activation):
        return _kind_of_activation(layer.activation)
    if isinstance(layer, (keras.layers.Dense, keras.layers.EinsumDense, keras.layers.Conv2D)):
        return _kind_of_activation(getattr(layer, "activation", None))
    return None


def probe_output_kind(model, input_shape, value_range=(0.0, 255.0), seed=0):
    """Runs `model` on 4 random inputs; returns `"probabilities"` or `"logits"`."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(value_range[0], value_range[1], (4, *input_shape)).astype("float32")
    y = ops.convert_to_numpy(ops.cast(model(x, training=False), "float32"))
    if y.ndim == 2 and np.all(y >= -1e-4) and np.allclose(y.sum(axis=-1), 1.0, atol=1e-2):
        return PROBABILITIES
    return LOGITS


def check_output_kind(argument, model, from_logits, input_shape=None, value_range=(0.0, 255.0)):
    """Raises a `ValueError` when `model`'s outputs contradict `from_logits`."""
    kind = output_kind(model)
    if kind is None and input_shape is not None and None not in tuple(input_shape):
        kind = probe_output_kind(model, input_shape, value_range)
    if kind == OTHER:
        raise ValueError(
            f"Invalid value received for argument `{argument}`. Expected a classifier whose last "
            "layer outputs softmax probabilities or logits (linear). Received a model whose last "
            "activation is neither (e.g. sigmoid): per-class scores that do not sum to one are not "
            "class probabilities."
        )
    if kind == LOGITS and not from_logits:
        raise ValueError(
            f"Invalid value received for argument `{argument}`. Its outputs are logits (no "
            "softmax on the last layer), but `from_logits=False` says they are probabilities. "
            "Pass `from_logits=True`."
        )
    if kind == PROBABILITIES and from_logits:
        raise ValueError(
            f"Invalid value received for argument `{argument}`. Its outputs are softmax "
            "probabilities, but `from_logits=True` says they are logits. Pass "
            "`from_logits=False` (the default)."
        )
    return kind


def log_probabilities(outputs, from_logits):
    """float32 log-probabilities from logits or from probabilities."""
    outputs = ops.cast(outputs, "float32")
    if from_logits:
        return ops.log_softmax(outputs, axis=-1)
    return ops.log(ops.clip(outputs, 1e-7, 1.0))


def probabilities(outputs, from_logits, temperature=1.0):
    """float32 class probabilities `softmax(logits / temperature)`."""
    if temperature == 1.0:  # the outputs themselves, or one softmax (fewer ops per step than via the log)
        outputs = ops.cast(outputs, "float32")
        return ops.softmax(outputs, axis=-1) if from_logits else outputs
    logp = log_probabilities(outputs, from_logits)
    if temperature != 1.0:
        logp = logp / temperature
    return ops.softmax(logp, axis=-1)


def detect_from_logits(argument, model, input_shape=None, value_range=(0.0, 255.0)):
    """`True` when `model` outputs logits, `False` for probabilities (else `ValueError`)."""
    kind = output_kind(model)
    if kind is None and input_shape is not None and None not in tuple(input_shape):
        kind = probe_output_kind(model, input_shape, value_range)
    if kind == OTHER:
        check_output_kind(argument, model, False)
    return kind == LOGITS
