"""`replace_head`: the head swap between pseudo pre-training and fine-tuning."""

import keras

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.feature_extraction.transfer_classifier import TransferClassifier
from keras_transfer.feature_extraction.transfer_classifier import _head_dtype


@keras_transfer_export("keras_transfer.generative.replace_head")
def replace_head(model, num_classes, *, activation="auto", name=None):
    """A model sharing every layer of `model` but its last `Dense`, replaced by a new one.

    The step between pseudo pre-training (a head over the source classes) and
    fine-tuning (a head over the target classes). The new model shares the
    pre-trained layers (same variables, not copies) and has a freshly
    initialised `Dense(num_classes)` head. A `TransferClassifier` stays a
    `TransferClassifier` (its hidden head layers are kept, with their
    weights); any other functional model must end in a `Dense` layer.

    Args:
        model: functional Keras model ending in a `Dense` layer, or a
            `keras_transfer.models.TransferClassifier`.
        num_classes: int, outputs of the new head.
        activation: `"auto"` keeps the old head's activation, else any
            Keras activation name (`None` or `"linear"` for logits).
        name: name of the new model. Defaults to `model.name + "_retargeted"`.

    Returns:
        A new `keras.Model` (uncompiled).

    Example:

    >>> import keras, keras_transfer
    >>> source = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
    ...                            keras.layers.Dense(5, activation="softmax")])
    >>> target = keras_transfer.generative.replace_head(source, 3)
    >>> target.output_shape, target.layers[-2] is source.layers[-2]
    ((None, 3), True)

    Reference:
        Yamaguchi et al., "Transfer Learning with Pre-trained Conditional
        Generative Models", Machine Learning 2025 (arXiv:2204.12833).
    """
    if not isinstance(model, keras.Model):
        raise _checks.invalid("model", "a Keras model", model, error=TypeError)
    num_classes = _checks.check_int("num_classes", num_classes, minimum=1)
    name = name or f"{model.name}_retargeted"
    if isinstance(model, TransferClassifier):
        new = TransferClassifier(
            model.backbone, num_classes,
            input_shape=model.image_input_shape, preprocessing=model.preprocessing,
            image_size=model.image_size, to_rgb=model.to_rgb, pooling=model.pooling,
            hidden_units=model.hidden_units, dropout=model.dropout,
            activation=model.activation if activation == "auto" else activation,
            backbone_groups=model.backbone_groups, name=name,
        )
        for i in range(len(model.hidden_units)):
            new.get_layer(f"head_dense_{i}").set_weights(model.get_layer(f"head_dense_{i}").get_weights())
        return new
    try:
        outputs = model.outputs
    except (AttributeError, ValueError):
        outputs = None
    last = model.layers[-1] if getattr(model, "layers", None) else None
    if not outputs or len(outputs) != 1 or not isinstance(last, keras.layers.Dense):
        raise _checks.invalid(
            "model", "a functional model with one output produced by a final `Dense` layer",
            f"{model.name} (last layer: {type(last).__name__})",
        )
    head = keras.layers.Dense(
        num_classes, activation=_activation(last, activation),
        name=f"{last.name}_retargeted", dtype=_head_dtype(),
    )
    return keras.Model(model.inputs, head(last.input), name=name)


def _activation(old_layer, activation):
    if activation != "auto":
        return activation
    return keras.activations.serialize(old_layer.activation)
