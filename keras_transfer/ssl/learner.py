"""`SemiSupervisedLearner`: what every semi-supervised learner of the package shares.

A learner wraps a classifier and trains it with `fit` on labelled and
unlabelled images. This base owns everything but the method:

- the input structures (`x_labeled`, `(x_labeled, x_unlabeled)`, a dict
  `{"labeled": ..., "unlabeled": ...}`) and the unlabelled images generated
  in the step by a `pseudo_generator` (P-SSL);
- the views: the weak view of the labelled batch and the unlabelled views
  the method names in `_views` (`"weak"`, `"strong"`), all through `model`
  in one forward pass;
- the labelled loss (the compiled loss on the weak labelled view), the
  schedule factor on `unlabeled_weight`, the logs, the argument checks
  shared by every learner and the shared part of the config.

A method is a subclass that sets `_views` and `_extra_metrics` and writes
`unlabeled_loss(outputs, images)` (and, when it has one, `_weight_schedule`,
`_after_update` and `_method_config`).
"""

import keras
import tensorflow as tf
from keras import ops

from keras_transfer import _checks
from keras_transfer.data import checks
from keras_transfer.generative.pseudo_ssl_generator import PseudoSSLGenerator
from keras_transfer.models import _inputs
from keras_transfer.models import _outputs
from keras_transfer.models.transfer_model import TransferModel
from keras_transfer.ssl.strong_augment import StrongAugment
from keras_transfer.ssl.weak_augment import WeakAugment


def split_inputs(x, learner="FixMatch"):
    """`x` -> `(labeled, unlabeled or None)` for the accepted input structures."""
    if isinstance(x, dict):
        if set(x) - {"labeled", "unlabeled"} or "labeled" not in x:
            raise ValueError(
                f"{learner} expects a dict input with keys 'labeled' and optionally 'unlabeled'. "
                f"Received keys: {sorted(x)}."
            )
        return x["labeled"], x.get("unlabeled")
    if isinstance(x, (tuple, list)):
        if len(x) != 2:
            raise ValueError(
                f"{learner} expects `x` to be labelled images, or a pair (labeled, unlabeled). "
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


class SemiSupervisedLearner(TransferModel, keras.Model):
    """Base of the semi-supervised learners (`FixMatch`, `PseudoLabel`, ...): not used directly.

    Args:
        model: Keras classifier (probabilities or logits). Trained in place.
        pseudo_generator: a Keras layer mapping target images to unlabelled
            images (P-SSL), or `None` for real unlabelled data.
        weak_augmentation: `"auto"` (`WeakAugment`), `None` or a Keras layer.
        strong_augmentation: `"auto"` (`StrongAugment`), `None` or a layer;
            unused (and not built) when `_views` has no `"strong"`.
        unlabeled_ratio: int >= 1, pseudo samples per labelled image.
        unlabeled_weight: float >= 0, weight of the unlabelled loss.
        from_logits: `None` (read from `model`) or a bool.
        value_range: `(low, high)` of the images.
        seed: int or `None`, seed of the default augmentations.
    """

    _trained_attributes = ("model",)
    _auto_loss = True
    _nested_config = ("model", "pseudo_generator", "weak_augmentation", "strong_augmentation")
    _views = ("weak", "strong")  # the unlabelled views of the forward pass, in order
    _extra_metrics = ("unlabeled_loss", "mask_rate")  # logged in training only

    def __init__(
        self,
        model,
        *,
        pseudo_generator=None,
        weak_augmentation="auto",
        strong_augmentation="auto",
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
            _check_generator(pseudo_generator, input_shape)
        self.model = model
        self.pseudo_generator = pseudo_generator
        self.weak_augmentation = _augmentation(
            "weak_augmentation", weak_augmentation,
            WeakAugment(value_range=self.value_range, seed=self.seed, name="weak_augmentation"),
        )
        self.strong_augmentation = None if "strong" not in self._views else _augmentation(
            "strong_augmentation", strong_augmentation,
            StrongAugment(value_range=self.value_range, seed=None if self.seed is None else self.seed + 1,
                          name="strong_augmentation"),
        )
        self._weak_config = weak_augmentation
        self._strong_config = strong_augmentation
        self.from_logits = from_logits
        self._loss_from_logits = detected
        for name in self._extra_metrics:
            setattr(self, f"{name}_tracker", keras.metrics.Mean(name=name))
        self.built = True

    @property
    def num_classes(self):
        """The number of classes of `model`'s output."""
        return int(self.model.output_shape[-1])

    def call(self, inputs, training=False):
        labeled, _ = split_inputs(inputs, type(self).__name__)
        return self.model(labeled, training=training)

    def _augment(self, layer, images):
        return images if layer is None else ops.cast(layer(images, training=True), "float32")

    def unlabeled_images(self, labeled, unlabeled):
        """The batch of unlabelled images the step uses (generated in P-SSL)."""
        if self.pseudo_generator is None:
            if unlabeled is None:
                raise ValueError(
                    f"{type(self).__name__} needs unlabelled images: pass `x=(x_labeled, x_unlabeled)` (e.g. from "
                    "keras_transfer.ssl.ssl_dataset) or a `pseudo_generator` (P-SSL)."
                )
            return ops.cast(unlabeled, "float32")
        conditioning = unlabeled if unlabeled is not None else ops.repeat(labeled, self.unlabeled_ratio, axis=0)
        return ops.cast(self.pseudo_generator(conditioning), "float32")

    # === What a method writes ===

    def unlabeled_loss(self, outputs, images):
        """`(loss, {metric: value})` from the model's `outputs` on the unlabelled views.

        `outputs` and `images` are lists in the order of `_views`; `images`
        also holds the unaugmented unlabelled batch under index `-1`.
        """
        raise NotImplementedError

    def _weight_schedule(self):
        """A factor on `unlabeled_weight` for this step, or `None` (1, no schedule)."""
        return None

    def _after_update(self, outputs, images):
        """Runs after the student's update (a teacher's average, a method's state)."""

    def _method_config(self):
        """The method's own constructor arguments."""
        return {}

    # === The step ===

    def _step_number(self):
        """Steps already taken (float32), `optimizer.iterations` before this step's update."""
        return ops.cast(self.optimizer.iterations, "float32")

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        labeled, unlabeled = split_inputs(x, type(self).__name__)
        labeled = ops.cast(labeled, "float32")
        unlabeled = self.unlabeled_images(labeled, unlabeled)
        weak_l = self._augment(self.weak_augmentation, labeled)
        layers = {"weak": self.weak_augmentation, "strong": self.strong_augmentation}
        views = [self._augment(layers[view], unlabeled) for view in self._views]
        n_l, n_u = ops.shape(labeled)[0], ops.shape(unlabeled)[0]
        weight = self.unlabeled_weight
        schedule = self._weight_schedule()
        if schedule is not None:
            weight = weight * schedule
        with tf.GradientTape() as tape:
            outputs = self.model(ops.concatenate([weak_l, *views], axis=0), training=True)
            y_pred = outputs[:n_l]
            supervised = self.compute_loss(x=labeled, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
            parts = [outputs[n_l + i * n_u : n_l + (i + 1) * n_u] for i in range(len(views))]
            unlabeled_loss, logs = self.unlabeled_loss(parts, [*views, unlabeled])
            loss = supervised + self._replica_loss(weight * unlabeled_loss)
            self._track_loss(loss, n_l)
            scaled = self.optimizer.scale_loss(loss)
        self._apply_gradients(tape, scaled, self.trainable_variables)
        self._after_update(parts, [*views, unlabeled])
        logs = {"unlabeled_loss": unlabeled_loss, **logs}
        if schedule is not None:
            logs.setdefault("unlabeled_weight", weight)
        for name in self._extra_metrics:
            getattr(self, f"{name}_tracker").update_state(logs[name])
        return self.compute_metrics(labeled, y, y_pred, sample_weight=sample_weight)

    def fit(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.fit`; numpy inputs are checked against `model` before training."""
        checks.check_dataset_not_empty("x", x)
        labeled, unlabeled = split_inputs(x, type(self).__name__) if isinstance(x, (dict, tuple, list)) else (x, None)
        key = "x['labeled']" if isinstance(x, dict) else "x[0]" if isinstance(x, (tuple, list)) else "x"
        checks.check_training_arrays(self.model, labeled, y, names=(key, "y"), kind=checks.label_kind(self))
        if unlabeled is None and self.pseudo_generator is None and not isinstance(x, (dict, tuple, list, tf.data.Dataset)):
            raise _checks.invalid(
                "x", "a pair (x_labeled, x_unlabeled), a dict {'labeled', 'unlabeled'} or a dataset of them "
                f"({type(self).__name__} needs unlabelled images, or a `pseudo_generator`)",
                f"labelled images alone (an array of shape {getattr(x, 'shape', '?')})",
            )
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
        return {name: value for name, value in logs.items() if name not in self._extra_metrics}

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
            "unlabeled_ratio": self.unlabeled_ratio,
            "unlabeled_weight": self.unlabeled_weight,
            "from_logits": self.from_logits,
            "value_range": self.value_range,
            "seed": self.seed,
        })
        if "strong" in self._views:  # the learners without a strong view take no `strong_augmentation`
            config["strong_augmentation"] = augmentation(self._strong_config)
        config.update(self._method_config())
        return config


def _check_generator(pseudo_generator, input_shape):
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
