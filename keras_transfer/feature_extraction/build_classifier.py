"""`build_classifier`: the seed-002 recipe (pretrained base, new head, frozen) in one call."""

import keras

from keras_transfer import _checks
from keras_transfer.groups.freezing import freeze_groups
from keras_transfer.groups.freezing import groups_to_train
from keras_transfer.groups.naming import layer_groups
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.backbones.image_preprocessing import MODES
from keras_transfer.backbones.resolve import resolve_backbone
from keras_transfer.feature_extraction.transfer_classifier import TransferClassifier
from keras_transfer.feature_extraction.transfer_classifier import check_head_arguments


def _check_shape(name, value, length):
    if value is None:
        return None
    if (
        not isinstance(value, (tuple, list))
        or len(value) != length
        or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in value)
    ):
        what = "(height, width, channels)" if length == 3 else "(height, width)"
        raise _checks.invalid(name, f"a tuple {what} of positive ints", value, error=TypeError if not isinstance(value, (tuple, list)) else ValueError)
    return tuple(value)


def _plan_input(spec_name, minimum, input_shape, image_size, adapt_input):
    """Returns `(backbone_input_shape, to_rgb, resize_to)`."""
    height, width, channels = input_shape
    to_rgb = False
    if channels == 1 and adapt_input:
        to_rgb = True
    elif channels != 3:
        hint = "Pass `adapt_input=True` to tile grayscale images to RGB inside the model." if channels == 1 else None
        raise _checks.invalid("input_shape", f"3 channels (or 1 with adapt_input=True) for backbone {spec_name!r}", input_shape, hint)
    resize_to = image_size
    if resize_to is None and adapt_input and min(height, width) < minimum:
        resize_to = (max(height, minimum), max(width, minimum))
    size = resize_to or (height, width)
    if min(size) < minimum:
        argument = "image_size" if image_size is not None else "input_shape"
        raise _checks.invalid(
            argument,
            f"height and width >= {minimum} for backbone {spec_name!r} (its minimum input size)",
            image_size if image_size is not None else input_shape,
            hint="Pass `adapt_input=True` to resize up to the minimum inside the model, or `image_size=(h, w)`.",
        )
    return (size[0], size[1], 3), to_rgb, resize_to


@keras_transfer_export("keras_transfer.build_classifier")
def build_classifier(
    backbone,
    num_classes,
    *,
    weights="imagenet",
    input_shape=None,
    freeze=True,
    adapt_input=False,
    image_size=None,
    pooling="avg",
    hidden_units=(),
    dropout=0.0,
    activation="auto",
    train_batchnorm=False,
    preprocessing=None,
    groups=None,
    name=None,
):
    """A pretrained backbone with a new classification head, ready to `compile`.

    The recipe users copy today (load VGG16 without its top, freeze it, add
    pooling and a softmax layer) in one call, returning an uncompiled
    functional `keras.Model` (a `keras_transfer.models.TransferClassifier`)
    that takes raw images in [0, 255].

    Args:
        backbone: a registered name (`keras_transfer.backbones.available()`),
            a keras-hub preset name or local preset directory, or a functional
            `keras.Model` (used as given; its Dropout keeps Keras semantics).
        num_classes: number of classes (1: binary, sigmoid output).
        weights: `"imagenet"` (Keras download, cached in `~/.keras/models`),
            a local `.weights.h5` / `.keras` file of the backbone, a
            `keras.Model` to copy weights from, or `None` (random). For a
            `keras.Model` or keras-hub backbone, `"imagenet"` means "keep the
            weights it has". Defaults to `"imagenet"`.
        input_shape: raw image shape `(height, width, channels)`. Defaults to
            the backbone's ImageNet input shape.
        freeze: `True` (the whole backbone frozen: feature extraction),
            `False` (everything trains), or a list of backbone group names to
            keep frozen. Defaults to `True`.
        adapt_input: tile grayscale images to RGB and resize images smaller
            than the backbone's minimum up to it, inside the model. Defaults to
            `False` (such inputs are refused).
        image_size: `(height, width)` to resize to inside the model.
        pooling: `"avg"`, `"max"` or `"flatten"`. Defaults to `"avg"`.
        hidden_units: sizes of hidden `Dense(relu)` layers of the head.
        dropout: dropout rate before the output layer. Defaults to `0.0`.
        activation: `"auto"` (softmax; sigmoid when `num_classes=1`), `None`
            for logits, or an activation name.
        train_batchnorm: let BatchNormalization layers of trainable groups
            train. Defaults to `False`: BatchNorm stays in inference mode, also
            after unfreezing (the Keras fine-tuning guide's advice).
        preprocessing: override the backbone's `ImagePreprocessing` mode
            (`"caffe"`, `"tf"`, `"torch"`, `"unit"`, `"none"`). Defaults to the
            registered backbone's, `"none"` for a `keras.Model`.
        groups: explicit backbone groups `{name: [layer names or regexes]}`.
        name: model name.

    Returns:
        An uncompiled `keras_transfer.models.TransferClassifier`, whose
        `layer_groups` are the backbone's groups then `"head"`.

    Example:

    >>> import numpy as np, keras_transfer
    >>> model = keras_transfer.build_classifier(
    ...     "vgg16", num_classes=2, weights=None, input_shape=(32, 32, 3))
    >>> model.compile("adam", "sparse_categorical_crossentropy")
    >>> model.predict(np.zeros((1, 32, 32, 3)), verbose=0).shape
    (1, 2)
    """
    num_classes, hidden_units, dropout = check_head_arguments(num_classes, pooling, hidden_units, dropout, activation)
    input_shape = _check_shape("input_shape", input_shape, 3)
    image_size = _check_shape("image_size", image_size, 2)
    for flag_name, flag in (("adapt_input", adapt_input), ("train_batchnorm", train_batchnorm)):
        if not isinstance(flag, bool):
            raise _checks.invalid(flag_name, "a bool", flag, error=TypeError)
    if not isinstance(freeze, (bool, list, tuple)):
        raise _checks.invalid("freeze", "True, False or a list of group names", freeze, error=TypeError)
    if preprocessing is not None:
        _checks.check_choice("preprocessing", preprocessing, MODES)
    if name is not None and not isinstance(name, str):
        raise _checks.invalid("name", "a str", name, error=TypeError)

    resolved = resolve_backbone(backbone)
    if resolved.kind == "model":
        to_rgb, resize_to = _model_adapters(resolved.model, input_shape, image_size, adapt_input)
        input_shape = input_shape or tuple(resolved.model.input_shape[1:])
        backbone_shape = None
    else:
        minimum = resolved.spec.min_input_size if resolved.kind == "registry" else 1
        default = resolved.spec.default_input_shape if resolved.kind == "registry" else (224, 224, 3)
        input_shape = input_shape or default
        backbone_shape, to_rgb, resize_to = _plan_input(resolved.name, minimum, input_shape, image_size, adapt_input)
    model_backbone, assigned, own_preprocessing = resolved.build(backbone_shape, weights)
    if resolved.kind == "hub" and own_preprocessing is not None:
        preprocessing_layer = own_preprocessing  # the preset's image converter
    else:
        preprocessing_layer = preprocessing or own_preprocessing or "none"

    if groups is not None:
        assigned = layer_groups(model_backbone, groups)
    backbone_group_names = {name_: [layer.name for layer in layers] for name_, layers in assigned.items() if layers}

    model = TransferClassifier(
        model_backbone,
        num_classes,
        input_shape=input_shape,
        preprocessing=preprocessing_layer,
        image_size=resize_to,
        to_rgb=to_rgb,
        pooling=pooling,
        hidden_units=hidden_units,
        dropout=dropout,
        activation=activation,
        backbone_groups=backbone_group_names,
        name=name,
    )
    _apply_freeze(model, freeze, train_batchnorm)
    return model


def _model_adapters(backbone, input_shape, image_size, adapt_input):
    expected = backbone.input_shape
    if isinstance(expected, list):
        raise _checks.invalid("backbone", "a model with one image input", backbone, error=TypeError)
    if input_shape is None:
        return False, image_size
    to_rgb = False
    if expected[-1] is not None and input_shape[-1] != expected[-1]:
        if input_shape[-1] == 1 and expected[-1] == 3 and adapt_input:
            to_rgb = True
        else:
            raise _checks.invalid(
                "input_shape",
                f"{expected[-1]} channels, as the backbone's input {tuple(expected[1:])}",
                input_shape,
                hint="Pass `adapt_input=True` to tile grayscale to RGB." if input_shape[-1] == 1 else None,
            )
    resize_to = image_size
    fixed = expected[1:3]
    if resize_to is None and None not in fixed and tuple(input_shape[:2]) != tuple(fixed):
        if not adapt_input:
            raise _checks.invalid(
                "input_shape",
                f"height and width {tuple(fixed)}, as the backbone's input",
                input_shape,
                hint="Pass `adapt_input=True` or `image_size=(h, w)` to resize inside the model.",
            )
        resize_to = tuple(fixed)
    return to_rgb, resize_to


def _apply_freeze(model, freeze, train_batchnorm):
    groups = model.layer_groups
    freeze_groups(model, groups, groups_to_train(freeze, groups), train_batchnorm=train_batchnorm)
