"""`ADDA`: a target feature extractor trained against a domain discriminator, the source model fixed."""

import keras
import tensorflow as tf
from keras import ops

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.domain_adaptation import _adversary
from keras_transfer.domain_adaptation._adversary import SeparateAdversaryOptimizer
from keras_transfer.domain_adaptation._model_checks import check_batches
from keras_transfer.models.transfer_model import TransferModel
from keras_transfer.models.transfer_model import check_model

_LOG_KEYS = ("discriminator_loss", "domain_accuracy")


def _trained_model(name, value):
    check_model(name, value)
    try:
        shape = value.output_shape
    except (AttributeError, ValueError):
        shape = None
    if not value.built or not isinstance(shape, tuple):
        raise _checks.invalid(
            name, "a built functional or Sequential model, trained on the source task (stage 1)",
            f"{value.name} (built={value.built})",
            hint="Train keras.Sequential([feature_extractor, classifier]) on the source data first (model.fit).",
        )
    return value


def _copy(model, name):
    """A new model of the same architecture and weights, named `name`."""
    config = keras.saving.serialize_keras_object(model)
    config["config"]["name"] = name
    copy = keras.saving.deserialize_keras_object(config)
    copy.set_weights(model.get_weights())
    return copy


@keras_transfer_export("keras_transfer.models.ADDA")
class ADDA(SeparateAdversaryOptimizer, TransferModel, keras.Model):
    """Adversarial discriminative domain adaptation, stage 2 (ADDA), trained by `fit`.

    ADDA has two stages. Stage 1 is ordinary Keras: train
    `keras.Sequential([feature_extractor, classifier])` on the labelled
    source data. Stage 2 is this model: `target_feature_extractor` starts as
    a copy of the trained `feature_extractor` and learns to map target inputs
    where a `discriminator` cannot tell them from the source features, as a
    GAN generator does (the inverted-label loss):

    - the discriminator minimises `-log D(f_s(x_s)) - log(1 - D(f_t(x_t)))`
      (source 1, target 0; the sum of the two domain means);
    - the target feature extractor minimises `-log D(f_t(x_t))`.

    Both take one step on each batch, from the same forward pass, each with
    its own optimizer. `feature_extractor` (the source one, in inference
    mode) and `classifier` never change: the target feature extractor is
    trained into the classifier's input space. `predict(x)` returns
    `classifier(target_feature_extractor(x))`; `inference_model` is that
    as a plain functional model.

    Logs: `loss` (the target feature extractor's), `discriminator_loss`,
    `domain_accuracy` (the discriminator's, near 0.5 once it is fooled),
    and the compiled metrics of the target feature extractor + classifier on
    the source batch (whether it still classifies the source domain; an
    extra forward pass, only when metrics are compiled). The compiled loss
    serves `evaluate` and `validation_data` (labelled target data).
    `sample_weight` weights the source examples in the discriminator's loss
    and in the metrics. The source labels train nothing in stage 2.

    The paper uses no target labels; a few labelled target examples belong
    in stage 1, beside the source examples.

    Args:
        feature_extractor: the source feature extractor, a built functional
            or Sequential Keras model trained in stage 1. Not modified.
        classifier: the classifier trained on its features (stage 1). Not
            modified.
        discriminator: a Keras model or layer, features -> one logit (no
            sigmoid). Defaults to `Dense(500, relu) -> Dense(500, relu) ->
            Dense(1)` in float32 (the paper's).
        target_feature_extractor: the model trained here, or `None`: a copy
            of `feature_extractor` (architecture and weights) made now.
            Defaults to `None`.
        discriminator_optimizer: a Keras optimizer for the discriminator, or
            `None`: a new optimizer with the compiled optimizer's class and
            config. Defaults to `None`.

    Call arguments:
        inputs: a batch of (target) inputs.
        training: bool.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> rng = np.random.default_rng(0)
    >>> x_s, y_s, x_t = rng.normal(size=(64, 4)), rng.integers(0, 3, 64), rng.normal(1.0, 1.0, (48, 4))
    >>> features = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu")])
    >>> classifier = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, activation="softmax")])
    >>> source_model = keras.Sequential([features, classifier])            # stage 1: plain Keras
    >>> source_model.compile("adam", "sparse_categorical_crossentropy")
    >>> _ = source_model.fit(x_s, y_s, epochs=2, verbose=0)
    >>> adda = keras_transfer.models.ADDA(features, classifier,            # stage 2
    ...                                   discriminator=keras.Sequential([keras.layers.Dense(16, activation="relu"),
    ...                                                                   keras.layers.Dense(1)]))
    >>> adda.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    >>> data = keras_transfer.data.domain_adaptation_dataset(source=(x_s, y_s), target=x_t, batch_size=16)
    >>> sorted(adda.fit(data, epochs=1, verbose=0).history)
    ['accuracy', 'discriminator_loss', 'domain_accuracy', 'loss']
    >>> adda.predict(x_t[:2], verbose=0).shape
    (2, 3)

    Reference:
        Tzeng et al., "Adversarial Discriminative Domain Adaptation", CVPR
        2017 (https://arxiv.org/abs/1702.05464).
    """

    _nested_config = ("feature_extractor", "classifier", "discriminator", "target_feature_extractor",
                      "discriminator_optimizer")
    _trained_attributes = ("target_feature_extractor",)

    def __init__(self, feature_extractor, classifier, discriminator=None, target_feature_extractor=None,
                 discriminator_optimizer=None, **kwargs):
        super().__init__(**kwargs)
        self.feature_extractor = _trained_model("feature_extractor", feature_extractor)
        self.classifier = _trained_model("classifier", classifier)
        if target_feature_extractor is None:
            target_feature_extractor = _copy(feature_extractor, f"target_{feature_extractor.name}")
        self.target_feature_extractor = _trained_model("target_feature_extractor", target_feature_extractor)
        if discriminator is None:
            discriminator = _adversary.default_adversary((500, 500), name="discriminator")
        self.discriminator = _adversary.check_adversary("discriminator", discriminator)
        self._init_adversary_optimizer(discriminator_optimizer)
        self.discriminator_loss_tracker = keras.metrics.Mean(name="discriminator_loss")
        self.domain_accuracy_tracker = keras.metrics.Mean(name="domain_accuracy")
        features = tuple(feature_extractor.output_shape)
        if tuple(target_feature_extractor.output_shape) != features:
            raise _checks.invalid("target_feature_extractor", f"a model with the output shape of `feature_extractor`,"
                                  f" {features}", f"output shape {tuple(target_feature_extractor.output_shape)}")
        if not self.discriminator.built:
            self.discriminator.build(features)
        self.build(tuple(feature_extractor.input_shape))

    def build(self, input_shape):
        self._build_adversary_optimizer()

    @property
    def inference_model(self):
        """A new functional model `classifier(target_feature_extractor(x))`, sharing the weights."""
        inputs = keras.Input(shape=tuple(self.target_feature_extractor.input_shape[1:]), name="inputs")
        outputs = self.classifier(self.target_feature_extractor(inputs))
        return keras.Model(inputs, outputs, name=f"{self.name}_inference")

    def call(self, inputs, training=None):
        if isinstance(inputs, dict) and "source" in inputs:
            inputs = inputs["target"]
        return self.classifier(self.target_feature_extractor(inputs, training=training), training=False)

    # === Training ===
    def fit(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.fit`; in-memory batches and `sample_weight` are checked first."""
        if isinstance(x, (dict, list, tuple)) or hasattr(x, "shape"):
            check_batches(x)
        _adversary.check_sample_weight(x, kwargs.get("sample_weight"))
        return super().fit(x, y, *args, **kwargs)

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        check_batches(x)
        x_source = x["source"]
        x_target = ops.cast(x["target"], x_source.dtype)
        n_source = ops.shape(x_source)[0]
        source_features = ops.stop_gradient(self.feature_extractor(x_source, training=False))
        with tf.GradientTape(persistent=True) as tape:
            target_features = self.target_feature_extractor(x_target, training=True)
            both = ops.concatenate([ops.cast(source_features, target_features.dtype), target_features], axis=0)
            logits = _adversary.score(self.discriminator, both)
            source_logits, target_logits = logits[:n_source], logits[n_source:]
            ones = ops.ones_like(target_logits)
            # The discriminator: source 1, target 0. The target feature extractor: inverted labels (target 1).
            discriminator_loss = _adversary.batch_mean(
                ops.binary_crossentropy(ops.ones_like(source_logits), source_logits, from_logits=True), sample_weight
            ) + _adversary.batch_mean(ops.binary_crossentropy(ops.zeros_like(target_logits), target_logits, from_logits=True))
            loss = _adversary.batch_mean(ops.binary_crossentropy(ones, target_logits, from_logits=True))
            scaled_discriminator_loss = self._scale_adversary_loss(self._replica_loss(discriminator_loss))
            scaled = self.optimizer.scale_loss(self._replica_loss(loss))
        self._apply_gradients(tape, scaled, self.trainable_weights)
        self._train_adversary(tape, scaled_discriminator_loss)
        del tape
        self._track_loss(self._replica_loss(loss), n_source)
        self.discriminator_loss_tracker.update_state(discriminator_loss)
        correct = ops.cast(logits > 0.0, "float32")
        self.domain_accuracy_tracker.update_state(
            0.5 * (_adversary.batch_mean(correct[:n_source]) + _adversary.batch_mean(1.0 - correct[n_source:]))
        )
        if getattr(self, "_compile_metrics", None) is None:
            return self.get_metrics_result()
        y_pred = self.classifier(self.target_feature_extractor(x_source, training=False), training=False)
        return self.compute_metrics(x_source, y, y_pred, sample_weight=sample_weight)

    def test_step(self, data):
        return {k: v for k, v in super().test_step(data).items() if k not in _LOG_KEYS}

    # === Config ===
    def get_config(self):
        config = super().get_config()
        config.update({
            "feature_extractor": keras.saving.serialize_keras_object(self.feature_extractor),
            "classifier": keras.saving.serialize_keras_object(self.classifier),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "target_feature_extractor": keras.saving.serialize_keras_object(self.target_feature_extractor),
            "discriminator_optimizer": self._adversary_optimizer_config(),
        })
        return config
