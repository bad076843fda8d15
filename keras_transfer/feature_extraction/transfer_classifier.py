"""`TransferClassifier`: a pretrained backbone with a new head, as one functional model."""

import collections

import keras

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.backbones.image_preprocessing import ImagePreprocessing
from keras_transfer.models.transfer_model import TransferModel

POOLINGS = ("avg", "max", "flatten")


def _head_dtype():
    policy = keras.config.dtype_policy()
    return "float32" if policy.compute_dtype != policy.variable_dtype else None


@keras_transfer_export("keras_transfer.models.TransferClassifier")
class TransferClassifier(TransferModel, keras.Model):
    """A backbone, its input preprocessing and a new classification head.

    Usually built with `keras_transfer.build_classifier`, which picks the
    backbone, loads its weights and freezes it. The model takes raw images in
    [0, 255]; grayscale and resizing adapters and the backbone's preprocessing
    are layers inside it, so saved and exported models take raw images too.

    Args:
        backbone: a functional `keras.Model` (the headless backbone).
        num_classes: int, number of classes.
        input_shape: shape of one raw input image, `(height, width, channels)`.
        preprocessing: an `ImagePreprocessing` mode or a Keras layer (e.g. a
            keras-hub `ImageConverter`). Defaults to `"none"`.
        image_size: `(height, width)` the images are resized to before the
            backbone, or `None`.
        to_rgb: tile single-channel images to 3 channels. Defaults to `False`.
        pooling: `"avg"`, `"max"` or `"flatten"`, applied to 4D features.
        hidden_units: sizes of hidden `Dense(relu)` layers in the head.
        dropout: dropout rate before the last layer.
        activation: `"auto"` (softmax, or sigmoid for `num_classes=1`), `None`
            for logits, or any Keras activation name.
        backbone_groups: `{group: [backbone layer names]}`, from input to output.

    Call arguments:
        inputs: raw images, `(batch, height, width, channels)` in [0, 255].

    Example:

    >>> import keras, keras_transfer
    >>> backbone = keras_transfer.backbones.get("vgg16").build((32, 32, 3))
    >>> model = keras_transfer.models.TransferClassifier(
    ...     backbone, 10, input_shape=(32, 32, 3), preprocessing="caffe")
    >>> model.output_shape
    (None, 10)
    """

    def __init__(
        self,
        backbone,
        num_classes,
        *,
        input_shape,
        preprocessing="none",
        image_size=None,
        to_rgb=False,
        pooling="avg",
        hidden_units=(),
        dropout=0.0,
        activation="auto",
        backbone_groups=None,
        **kwargs,
    ):
        # === Layers ===
        if isinstance(preprocessing, str):
            preprocessing_layer = ImagePreprocessing(preprocessing, name="preprocessing")
        else:
            preprocessing_layer = preprocessing
        if activation == "auto":
            head_activation = "sigmoid" if num_classes == 1 else "softmax"
        else:
            head_activation = activation

        # === Functional Model ===
        inputs = keras.Input(shape=tuple(input_shape), name="images")
        x = inputs
        if to_rgb:
            x = keras.layers.Concatenate(axis=-1, name="to_rgb")([x, x, x])
        if image_size is not None:
            x = keras.layers.Resizing(int(image_size[0]), int(image_size[1]), name="resize")(x)
        x = preprocessing_layer(x)
        x = backbone(x)
        if len(x.shape) == 4:
            if pooling == "avg":
                x = keras.layers.GlobalAveragePooling2D(name="head_pool")(x)
            elif pooling == "max":
                x = keras.layers.GlobalMaxPooling2D(name="head_pool")(x)
            else:
                x = keras.layers.Flatten(name="head_pool")(x)
        features = x
        head_layers = []
        for i, units in enumerate(hidden_units):
            layer = keras.layers.Dense(int(units), activation="relu", name=f"head_dense_{i}")
            head_layers.append(layer)
            x = layer(x)
        if dropout:
            x = keras.layers.Dropout(float(dropout), name="head_dropout")(x)
        predictions = keras.layers.Dense(
            num_classes, activation=head_activation, name="predictions", dtype=_head_dtype()
        )
        head_layers.append(predictions)
        outputs = predictions(x)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.backbone = backbone
        self.num_classes = num_classes
        self.image_input_shape = tuple(input_shape)
        self.preprocessing = preprocessing
        self.image_size = tuple(image_size) if image_size is not None else None
        self.to_rgb = to_rgb
        self.pooling = pooling
        self.hidden_units = tuple(hidden_units)
        self.dropout = dropout
        self.activation = activation
        self.backbone_groups = (
            {k: list(v) for k, v in backbone_groups.items()} if backbone_groups else None
        )
        self._features_tensor = features
        self._head_layer_names = [layer.name for layer in head_layers]

    @property
    def layer_groups(self):
        """Ordered `{group name: [layers]}`: backbone stages, then `"head"`."""
        groups = collections.OrderedDict()
        if self.backbone_groups:
            for name, layer_names in self.backbone_groups.items():
                groups[name] = [self.backbone.get_layer(n) for n in layer_names]
        else:
            groups["backbone"] = [self.backbone]
        groups["head"] = [self.get_layer(n) for n in self._head_layer_names]
        return groups

    @property
    def feature_extractor(self):
        """The model up to the pooled backbone features (shares weights)."""
        return keras.Model(self.inputs, self._features_tensor, name=f"{self.name}_features")

    @property
    def head(self):
        """The head as a model from pooled features to predictions (shares weights)."""
        inputs = keras.Input(shape=tuple(self._features_tensor.shape[1:]), name="features")
        x = inputs
        for name in self._head_layer_names[:-1]:
            x = self.get_layer(name)(x)
        if self.dropout:
            x = self.get_layer("head_dropout")(x)
        outputs = self.get_layer(self._head_layer_names[-1])(x)
        return keras.Model(inputs, outputs, name=f"{self.name}_head")

    _nested_config = ("backbone", "preprocessing")

    def get_config(self):
        preprocessing = self.preprocessing
        if not isinstance(preprocessing, str):
            preprocessing = keras.saving.serialize_keras_object(preprocessing)
        config = super().get_config()
        config.update({
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "num_classes": self.num_classes,
            "input_shape": self.image_input_shape,
            "preprocessing": preprocessing,
            "image_size": self.image_size,
            "to_rgb": self.to_rgb,
            "pooling": self.pooling,
            "hidden_units": self.hidden_units,
            "dropout": self.dropout,
            "activation": self.activation,
            "backbone_groups": self.backbone_groups,
        })
        return config


def check_head_arguments(num_classes, pooling, hidden_units, dropout, activation):
    num_classes = _checks.check_int("num_classes", num_classes, minimum=1)
    _checks.check_choice("pooling", pooling, POOLINGS)
    if isinstance(hidden_units, int) and not isinstance(hidden_units, bool):
        hidden_units = (hidden_units,)
    if not isinstance(hidden_units, (tuple, list)):
        raise _checks.invalid("hidden_units", "a tuple of positive ints", hidden_units, error=TypeError)
    for units in hidden_units:
        _checks.check_int("hidden_units", units, minimum=1)
    dropout = _checks.check_float("dropout", dropout, minimum=0.0)
    if dropout >= 1.0:
        raise _checks.invalid("dropout", "a float in [0, 1)", dropout)
    if activation is not None and not isinstance(activation, str):
        raise _checks.invalid("activation", '"auto", None (logits) or an activation name', activation, error=TypeError)
    if activation not in ("auto", None):
        try:
            keras.activations.get(activation)
        except Exception:
            raise _checks.invalid("activation", '"auto", None (logits) or a Keras activation name', activation)
    return num_classes, tuple(int(u) for u in hidden_units), dropout
