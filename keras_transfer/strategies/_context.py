"""The checked arguments of `keras_transfer.transfer`, and the helpers recipes share."""

import dataclasses
import os
import warnings

import keras
import numpy as np

from keras_transfer import _checks
from keras_transfer.data import checks
from keras_transfer.feature_extraction.build_classifier import build_classifier


def labelled(name, value, texts=False):
    """`(x, y)` arrays -> float32 images (or strings), int64 labels (checked)."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise _checks.invalid(name, "a pair (x, y) of arrays: inputs and integer labels", value, error=TypeError)
    x = strings(name, value[0]) if texts else unlabelled(name, value[0])
    y = checks.check_labels(name, np.asarray(value[1]), num_classes=None, count=len(x), noun="input")
    return x, y.astype("int64")


def unlabelled(name, value):
    """An array of inputs `(n, ...)` as float32 (checked: numeric, not empty)."""
    x = checks.as_array(name, value, "an array of inputs (numpy or tensor)", lists=False)
    if x.ndim < 2 or len(x) == 0:
        raise _checks.invalid(name, "a non-empty array of inputs, shape (n, ...)", f"an array of shape {x.shape}")
    return x.astype("float32")


def strings(name, value):
    """A non-empty 1-D batch of texts."""
    x = checks.check_texts(name, value)
    if len(x) == 0:
        raise _checks.invalid(name, "a non-empty 1-D array or list of strings (texts)", "no text")
    return x


def fresh_backbone(backbone, weights):
    """`(backbone, weights)` for `build_classifier`: a given model is copied, never trained in place."""
    if not isinstance(backbone, keras.Model):
        return backbone, weights
    copy = keras.models.clone_model(backbone)
    if weights == "imagenet":  # "keep the model's weights": copy them
        weights = backbone
    elif weights is None:  # the copy's fresh initialisation
        weights = "imagenet"
    return copy, weights


@dataclasses.dataclass
class Context:
    """What a strategy's `train` function receives."""

    strategy: object
    backbone: object
    data: tuple
    source: tuple
    target: object
    num_classes: int
    input_shape: tuple
    weights: object
    preprocessing: object
    epochs: int
    batch_size: int
    learning_rate: float
    validation_data: tuple
    callbacks: list
    verbose: object
    jit_compile: object
    seed: object
    build_options: dict
    epochs_given: bool = False  # False: `epochs` is the strategy's default, which a recipe may size to the data

    def classifier(self, num_classes=None, freeze=True):
        """A new `build_classifier` model on a copy of the backbone."""
        backbone, weights = fresh_backbone(self.backbone, self.weights)
        return build_classifier(
            backbone,
            num_classes or self.num_classes,
            weights=weights,
            input_shape=self.input_shape,
            freeze=freeze,
            preprocessing=self.preprocessing,
            **self.build_options,
        )

    def warn_if_frozen_random(self):
        """Warns when the strategy trains nothing but a head on a backbone with random weights."""
        if self.weights is None:
            warnings.warn(
                f"strategy {self.strategy.name!r} keeps the backbone frozen, and it has random weights (weights=None, "
                "on the command line --weights none): its features are random projections, so accuracy stays near "
                "what the pixels alone give. Give pretrained weights (a registered name's 'imagenet', a weights file, "
                "a trained .keras backbone), or use a strategy that trains the backbone ('fine_tune').",
                UserWarning, stacklevel=3,
            )

    @property
    def source_classes(self):
        """The number of source classes, `max(y_s) + 1`."""
        return int(self.source[1].max()) + 1

    def fit_on_source(self, model, epochs):
        """Trains a source-task model on `source` (compiled here); returns its history."""
        self.compile(model, loss="sparse_categorical_crossentropy")
        x, y = self.source
        return model.fit(x, y, batch_size=self.batch_size, epochs=epochs, verbose=self.verbose, callbacks=list(self.callbacks))

    @staticmethod
    def check_model_option(name, value):
        """A strategy option that takes a Keras model (or `None`)."""
        if value is not None and not isinstance(value, keras.Model):
            raise _checks.invalid(name, "None or a Keras model", value, error=TypeError)
        return value

    def optimizer(self, learning_rate=None):
        return keras.optimizers.Adam(learning_rate or self.learning_rate)

    def compile(self, model, learning_rate=None, loss="auto"):
        """Adam + accuracy; `loss="auto"` leaves it to models that infer it."""
        kwargs = {} if loss == "auto" else {"loss": loss}
        model.compile(optimizer=self.optimizer(learning_rate), metrics=["accuracy"], jit_compile=self.jit_compile, **kwargs)
        return model

    def fit_kwargs(self, epochs=None, batch_size=True):
        kwargs = dict(
            epochs=self.epochs if epochs is None else epochs,
            verbose=self.verbose,
            callbacks=list(self.callbacks),
            validation_data=self.validation_data,
        )
        if batch_size:
            kwargs["batch_size"] = self.batch_size
        else:  # a tf.data pipeline that shuffles itself
            kwargs["shuffle"] = False
        return kwargs


def source_model(value):
    """A trained source classifier: a `keras.Model`, or the path of a `.keras` file (loaded here)."""
    if isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
        if not os.path.isfile(path):
            raise _checks.invalid("source_model", "a trained Keras model or the path of a saved .keras file", value,
                                  hint="No such file.")
        value = keras.models.load_model(path)
    if not isinstance(value, keras.Model):
        raise _checks.invalid("source_model", "a trained Keras model or the path of a saved .keras file", value,
                              error=TypeError)
    return value


@dataclasses.dataclass
class SourceModelContext:
    """What the `train` function of a strategy that adapts a trained source model receives."""

    strategy: object
    source_model: object
    target: object
    validation_data: tuple
    epochs: int
    batch_size: int
    learning_rate: float
    callbacks: list
    verbose: object
    jit_compile: object
