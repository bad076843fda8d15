"""`FixMatch`: semi-supervised learning as a model you `compile` and `fit`."""

import keras
import tensorflow as tf
from keras import ops

from keras_transfer.models import _inputs
from keras_transfer import _checks
from keras_transfer.models import _outputs
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.models.transfer_model import TransferModel
from keras_transfer.generative.pseudo_ssl_generator import PseudoSSLGenerator
from keras_transfer.ssl.strong_augment import StrongAugment
from keras_transfer.ssl.weak_augment import WeakAugment
from keras_transfer.data import checks

_EXTRA_METRICS = ("unlabeled_loss", "mask_rate")


def split_inputs(x):
    """`x` -> `(labeled, unlabeled or None)` for the accepted input structures."""
    if isinstance(x, dict):
        if set(x) - {"labeled", "unlabeled"} or "labeled" not in x:
            raise ValueError(
                "FixMatch expects a dict input with keys 'labeled' and optionally 'unlabeled'. "
                f"Received keys: {sorted(x)}."
            )
        return x["labeled"], x.get("unlabeled")
    if isinstance(x, (tuple, list)):
        if len(x) != 2:
            raise ValueError(
                "FixMatch expects `x` to be labelled images, or a pair (labeled, unlabeled). "
                f"Received a {type(x).__name__} of {len(x)} elements."
            )
        return x[0], x[1]
    return x, None


def _augmentation(name, value, default):
    if isinstance(value, str) and value == "auto":
        return default
    if value is None or isinstance(value, keras.layers.Layer):
        return value
    raise _checks.invalid(name, '"auto", None (no augmentation) or a Keras layer', value, error=TypeError)


@keras_transfer_export("keras_transfer.ssl.FixMatch")
class FixMatch(TransferModel, keras.Model):
    """FixMatch semi-supervised learning around any classifier, trained with `fit`.

    Each train step takes a batch of labelled images and a batch of
    unlabelled ones. The labelled images (weak view) get the compiled loss.
    For every unlabelled image, the prediction on a weak view gives a
    pseudo-label when its confidence reaches `threshold`; the prediction on
    a strong view is trained towards it with cross-entropy, weighted by
    `unlabeled_weight`. All views go through `model` in one forward pass.

    Where the unlabelled images come from:

    - real data: `fit(x=(x_labeled, x_unlabeled), y=y_labeled)` batches of a
      `tf.data` pipeline, e.g. `keras_transfer.ssl.ssl_dataset(...)` (a
      dict `{"labeled": ..., "unlabeled": ...}` works too);
    - pseudo semi-supervised learning (P-SSL): pass
      `pseudo_generator=keras_transfer.layers.PseudoSSLGenerator(...)`; the
      unlabelled images are then generated in the step from target images:
      from the unlabelled part of the batch if there is one, else from the
      labelled batch, each image repeated `unlabeled_ratio` times (different
      noise). So `fit(x_labeled, y_labeled)` is all P-SSL needs.

    Augmentations run inside the compiled step. The defaults
    (`keras_transfer.layers.WeakAugment`, `StrongAugment`) are written in
    `keras.ops` and compile with XLA on CPU; Keras's `RandomTranslation`,
    `RandomRotation` and `RandAugment` do not (no XLA kernel on CPU for
    their image transform), so with those pass `jit_compile=False`, or
    augment real data in the `tf.data` pipeline and pass `None` here.

    `compile(metrics=...)` metrics are computed on the labelled batch; the
    logs also hold `unlabeled_loss` and `mask_rate` (the fraction of
    unlabelled images above the threshold). `sample_weight` weights the
    labelled loss. `predict`, `evaluate` and `validation_data` take plain
    images and run `model`; after training, `model` is the trained classifier.

    Args:
        model: Keras classifier (softmax probabilities, or logits: read from
            its last layer, see `from_logits`). Trained in place.
        pseudo_generator: a `PseudoSSLGenerator` (or any Keras layer mapping
            a batch of target images to a batch of unlabelled images), or
            `None` for real unlabelled data. Defaults to `None`.
        weak_augmentation: `"auto"` (`WeakAugment`), `None` or a Keras layer
            called with `training=True`.
        strong_augmentation: `"auto"` (`StrongAugment`), `None` or a layer.
        threshold: float in [0, 1], confidence needed for a pseudo-label.
            Defaults to `0.95`.
        unlabeled_ratio: int >= 1, pseudo samples per labelled image when
            they are generated from the labelled batch. Defaults to `7`.
        unlabeled_weight: float >= 0, weight of the unlabelled loss.
            Defaults to `1.0`.
        from_logits: `None` reads it from `model`'s last layer (or one probe
            call); a bool is checked against the model when it can be read.
        value_range: `(low, high)` of the images, for the default
            augmentations. Defaults to `(0, 255)`.
        seed: int or `None`, seed of the default augmentations.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> classifier = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Rescaling(1 / 255),
    ...     keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")])
    >>> fixmatch = keras_transfer.ssl.FixMatch(classifier, threshold=0.5, seed=0)
    >>> fixmatch.compile(optimizer="adam", metrics=["accuracy"])
    >>> rng = np.random.default_rng(0)
    >>> x_l = rng.uniform(0, 255, (8, 8, 8, 1)).astype("float32")
    >>> x_u = rng.uniform(0, 255, (8, 8, 8, 1)).astype("float32")
    >>> history = fixmatch.fit((x_l, x_u), np.arange(8) % 2, batch_size=4, epochs=1, verbose=0)
    >>> sorted(history.history)
    ['accuracy', 'loss', 'mask_rate', 'unlabeled_loss']
    >>> fixmatch.predict(x_l, verbose=0).shape
    (8, 2)

    Reference:
        Sohn et al., "FixMatch: Simplifying Semi-Supervised Learning with
        Consistency and Confidence", NeurIPS 2020. Yamaguchi et al.,
        "Transfer Learning with Pre-trained Conditional Generative Models",
        Machine Learning 2025 (arXiv:2204.12833), for P-SSL.
    """

    _trained_attributes = ("model",)
    _auto_loss = True
    _nested_config = ("model", "pseudo_generator", "weak_augmentation", "strong_augmentation")

    def __init__(
        self,
        model,
        *,
        pseudo_generator=None,
        weak_augmentation="auto",
        strong_augmentation="auto",
        threshold=0.95,
        unlabeled_ratio=7,
        unlabeled_weight=1.0,
        from_logits=None,
        value_range=(0, 255),
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(model, keras.Model):
            raise _checks.invalid("model", "a Keras model", model, error=TypeError)
        if pseudo_generator is not None and not isinstance(pseudo_generator, keras.layers.Layer):
            raise _checks.invalid(
                "pseudo_generator", "a keras_transfer.layers.PseudoSSLGenerator (or a Keras layer) or None",
                pseudo_generator, error=TypeError,
            )
        if from_logits is not None and not isinstance(from_logits, bool):
            raise _checks.invalid("from_logits", "None or a bool", from_logits, error=TypeError)
        self.threshold = _checks.check_float("threshold", threshold, minimum=0.0, maximum=1.0)
        self.unlabeled_ratio = _checks.check_int("unlabeled_ratio", unlabeled_ratio, minimum=1)
        self.unlabeled_weight = _checks.check_float("unlabeled_weight", unlabeled_weight, minimum=0.0)
        self.value_range = _inputs.check_value_range("value_range", value_range)
        self.seed = None if seed is None else _checks.check_int("seed", seed, minimum=0)
        input_shape = _inputs.model_input_shape(model, "model", required=False)
        if from_logits is None:
            detected = _outputs.detect_from_logits("model", model, input_shape, self.value_range)
        else:
            _outputs.check_output_kind("model", model, from_logits, input_shape, self.value_range)
            detected = from_logits
        if isinstance(pseudo_generator, PseudoSSLGenerator) and input_shape is not None:
            target = pseudo_generator.target_shape or input_shape
            if tuple(target) != input_shape:
                raise ValueError(
                    "Invalid value received for argument `pseudo_generator`: its samples have shape "
                    f"{tuple(target)} (target_shape) but the model's input shape is {input_shape}."
                )
            _inputs.check_adaptable(
                pseudo_generator.sample_shape, input_shape, argument="pseudo_generator",
                what_from="generator samples", what_to="the model input",
            )
            _inputs.check_adaptable(
                input_shape, pseudo_generator.source_input_shape, argument="pseudo_generator",
                what_from="target images (the model input)", what_to="the source classifier input",
            )
        weak_seed = None if self.seed is None else self.seed
        strong_seed = None if self.seed is None else self.seed + 1
        self.model = model
        self.pseudo_generator = pseudo_generator
        self.weak_augmentation = _augmentation(
            "weak_augmentation", weak_augmentation,
            WeakAugment(value_range=self.value_range, seed=weak_seed, name="weak_augmentation"),
        )
        self.strong_augmentation = _augmentation(
            "strong_augmentation", strong_augmentation,
            StrongAugment(value_range=self.value_range, seed=strong_seed, name="strong_augmentation"),
        )
        self._weak_config = weak_augmentation
        self._strong_config = strong_augmentation
        self.from_logits = from_logits
        self._loss_from_logits = detected
        self.unlabeled_loss_tracker = keras.metrics.Mean(name="unlabeled_loss")
        self.mask_rate_tracker = keras.metrics.Mean(name="mask_rate")
        self.built = True

    def call(self, inputs, training=False):
        labeled, _ = split_inputs(inputs)
        return self.model(labeled, training=training)

    def _augment(self, layer, images):
        return images if layer is None else ops.cast(layer(images, training=True), "float32")

    def unlabeled_images(self, labeled, unlabeled):
        """The batch of unlabelled images the step uses (generated in P-SSL)."""
        if self.pseudo_generator is None:
            if unlabeled is None:
                raise ValueError(
                    "FixMatch needs unlabelled images: pass `x=(x_labeled, x_unlabeled)` (e.g. from "
                    "keras_transfer.ssl.ssl_dataset) or a `pseudo_generator` (P-SSL)."
                )
            return ops.cast(unlabeled, "float32")
        conditioning = unlabeled if unlabeled is not None else ops.repeat(labeled, self.unlabeled_ratio, axis=0)
        return ops.cast(self.pseudo_generator(conditioning), "float32")

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        labeled, unlabeled = split_inputs(x)
        labeled = ops.cast(labeled, "float32")
        unlabeled = self.unlabeled_images(labeled, unlabeled)
        weak_l = self._augment(self.weak_augmentation, labeled)
        weak_u = self._augment(self.weak_augmentation, unlabeled)
        strong_u = self._augment(self.strong_augmentation, unlabeled)
        n_l, n_u = ops.shape(labeled)[0], ops.shape(unlabeled)[0]
        with tf.GradientTape() as tape:
            outputs = self.model(ops.concatenate([weak_l, weak_u, strong_u], axis=0), training=True)
            y_pred = outputs[:n_l]
            supervised = self.compute_loss(x=labeled, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
            probabilities = ops.stop_gradient(_outputs.probabilities(outputs[n_l : n_l + n_u], self._loss_from_logits))
            confidence = ops.max(probabilities, axis=-1)
            pseudo_labels = ops.argmax(probabilities, axis=-1)
            mask = ops.cast(confidence >= self.threshold, "float32")
            log_strong = _outputs.log_probabilities(outputs[n_l + n_u :], self._loss_from_logits)
            cross_entropy = -ops.take_along_axis(log_strong, pseudo_labels[:, None], axis=-1)[:, 0]
            unlabeled_loss = ops.mean(cross_entropy * mask)
            loss = supervised + self._replica_loss(self.unlabeled_weight * unlabeled_loss)
            self._track_loss(loss, n_l)
            scaled = self.optimizer.scale_loss(loss)
        self._apply_gradients(tape, scaled, self.trainable_variables)
        self.unlabeled_loss_tracker.update_state(unlabeled_loss)
        self.mask_rate_tracker.update_state(ops.mean(mask))
        return self.compute_metrics(labeled, y, y_pred, sample_weight=sample_weight)

    def fit(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.fit`; numpy inputs are checked against `model` before training."""
        checks.check_dataset_not_empty("x", x)
        labeled, unlabeled = split_inputs(x) if isinstance(x, (dict, tuple, list)) else (x, None)
        key = "x['labeled']" if isinstance(x, dict) else "x[0]" if isinstance(x, (tuple, list)) else "x"
        checks.check_training_arrays(self.model, labeled, y, names=(key, "y"), kind=checks.label_kind(self))
        if unlabeled is not None:
            shape = None if self.pseudo_generator is not None else checks.shape_of(self.model, "input_shape")
            checks.check_examples(
                "x['unlabeled']" if isinstance(x, dict) else "x[1]", unlabeled,
                example_shape=None if shape is None else shape[1:],
            )
        checks.check_validation_data(self.model, kwargs.get("validation_data"), kind=checks.label_kind(self))
        return super().fit(x, y, *args, **kwargs)

    def test_step(self, data):
        logs = super().test_step(data)
        return {name: value for name, value in logs.items() if name not in _EXTRA_METRICS}

    def get_config(self):
        def augmentation(value):
            if value is None or isinstance(value, str):
                return value
            return keras.saving.serialize_keras_object(value)

        config = super().get_config()
        config.update({
            "model": keras.saving.serialize_keras_object(self.model),
            "pseudo_generator": (
                None if self.pseudo_generator is None else keras.saving.serialize_keras_object(self.pseudo_generator)
            ),
            "weak_augmentation": augmentation(self._weak_config),
            "strong_augmentation": augmentation(self._strong_config),
            "threshold": self.threshold,
            "unlabeled_ratio": self.unlabeled_ratio,
            "unlabeled_weight": self.unlabeled_weight,
            "from_logits": self.from_logits,
            "value_range": self.value_range,
            "seed": self.seed,
        })
        return config
