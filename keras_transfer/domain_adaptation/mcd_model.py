"""`MCDModel`: maximum classifier discrepancy (Saito et al. 2018), its three updates per batch in `fit`."""

import warnings

import keras
import tensorflow as tf
from keras import ops

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.domain_adaptation._model_checks import check_batches
from keras_transfer.domain_adaptation._model_checks import check_fit_weights
from keras_transfer.domain_adaptation._model_checks import check_from_logits
from keras_transfer.models.transfer_model import TransferModel
from keras_transfer.models.transfer_model import check_model

_LOG_KEYS = ("discrepancy",)


def _check_layer(name, value):
    return check_model(name, value, kind=keras.layers.Layer)


def fresh_copy(layer):
    """A new `layer` of the same architecture with freshly initialised weights."""
    if isinstance(layer, keras.Model):
        return keras.models.clone_model(layer)
    return layer.__class__.from_config(layer.get_config())


def classifier_discrepancy(first, second):
    """`mean(|p1 - p2|)` over classes and examples: the L1 discrepancy of two class-probability batches."""
    return ops.mean(ops.abs(ops.cast(first, "float32") - ops.cast(second, "float32")))


@keras_transfer_export("keras_transfer.models.MCDModel")
class MCDModel(TransferModel, keras.Model):
    """Maximum classifier discrepancy: two classifiers on one feature extractor.

    Each training batch (a labelled source batch and an unlabelled target
    batch, from `keras_transfer.data.domain_adaptation_dataset`) makes three
    updates, in order, each on a new forward pass:

    - **A**: the feature extractor and both classifiers minimise the source
      loss of each classifier (the compiled loss, weighted by
      `sample_weight`).
    - **B**: the feature extractor fixed, the classifiers minimise their
      source losses minus their discrepancy on the target batch, so they
      disagree where the target lies outside the source support.
    - **C**: the classifiers fixed, the feature extractor minimises the
      discrepancy, `generator_steps` times.

    The discrepancy is the mean absolute difference of the two classifiers'
    class probabilities (`softmax` of logits when `from_logits`). All updates
    use the compiled optimizer; `optimizer.iterations` counts batches (each
    update of a batch uses that batch's learning rate). Logs: `loss` (the
    sum of the two source losses of step A), `discrepancy` (on the target
    batch, before step B) and the compiled metrics of `classifier` on the
    source batch. `predict`, `evaluate` and `validation_data` use
    `classifier(feature_extractor(x))`.

    Args:
        feature_extractor: a Keras model or layer, inputs -> features.
        classifier: a Keras model or layer, features -> class predictions.
        second_classifier: the other classifier, same output shape; `None`
            (default) makes a copy of `classifier`'s architecture with fresh
            weights.
        generator_steps: int >= 1, `n`, the updates of step C per batch.
            Defaults to `4` (the paper's digits setting).
        from_logits: whether the classifiers output logits; `None` reads it
            from `classifier`'s last layer. Defaults to `None`.

    Call arguments:
        inputs: a batch of inputs (or the dict `{"source": ..., "target": ...}`
            of a training batch, whose source part is classified).
        training: bool.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> features = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu")])
    >>> classifier = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, activation="softmax")])
    >>> model = keras_transfer.models.MCDModel(features, classifier, generator_steps=2)
    >>> model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    >>> rng = np.random.default_rng(0)
    >>> data = keras_transfer.data.domain_adaptation_dataset(
    ...     source=(rng.normal(size=(64, 4)), rng.integers(0, 3, 64)),
    ...     target=rng.normal(1.0, 1.0, size=(48, 4)), batch_size=16)
    >>> history = model.fit(data, epochs=1, verbose=0)
    >>> sorted(history.history)
    ['accuracy', 'discrepancy', 'loss']
    >>> int(model.optimizer.iterations.numpy())  # batches, not updates
    4
    >>> model.predict(np.zeros((2, 4)), verbose=0).shape
    (2, 3)

    Reference:
        Saito et al., "Maximum Classifier Discrepancy for Unsupervised Domain
        Adaptation", CVPR 2018 (https://arxiv.org/abs/1712.02560).
    """

    _nested_config = ("feature_extractor", "classifier", "second_classifier")

    def __init__(self, feature_extractor, classifier, second_classifier=None, generator_steps=4, from_logits=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.feature_extractor = _check_layer("feature_extractor", feature_extractor)
        self.classifier = _check_layer("classifier", classifier)
        if second_classifier is None:
            second_classifier = fresh_copy(classifier)
        self.second_classifier = _check_layer("second_classifier", second_classifier)
        shared = {id(v) for v in classifier.weights} & {id(v) for v in second_classifier.weights}
        if second_classifier is classifier or shared:
            raise _checks.invalid("second_classifier", "a classifier with weights of its own (not `classifier`)",
                                  second_classifier)
        self.generator_steps = _checks.check_int("generator_steps", generator_steps, minimum=1)
        self.from_logits = check_from_logits(from_logits, classifier, needed=False)
        if self.from_logits is None:
            raise _checks.invalid(
                "from_logits", "True or False: the classifier's last layer does not say whether it outputs logits or "
                "probabilities, and the discrepancy compares probabilities", from_logits)
        self.discrepancy_tracker = keras.metrics.Mean(name="discrepancy")
        shape = getattr(feature_extractor, "input_shape", None) if getattr(feature_extractor, "built", False) else None
        if shape is not None and not isinstance(shape, (list, dict)):
            self.build(shape)

    # === Build ===
    def build(self, input_shape):
        if isinstance(input_shape, dict) and "source" in input_shape:
            input_shape = input_shape["source"]
        if not self.feature_extractor.built:
            self.feature_extractor.build(tuple(input_shape))
        features = self.feature_extractor.compute_output_spec(keras.KerasTensor(tuple(input_shape)))
        for classifier in (self.classifier, self.second_classifier):
            if not classifier.built:
                classifier.build(tuple(features.shape))
        self.built = True

    def call(self, inputs, training=None):
        if isinstance(inputs, dict) and "source" in inputs:
            inputs = inputs["source"]
        return self.classifier(self.feature_extractor(inputs, training=training), training=training)

    @property
    def inference_model(self):
        """A new functional model `classifier(feature_extractor(x))`, sharing the weights."""
        inputs = keras.Input(shape=tuple(self.feature_extractor.input_shape[1:]), name="inputs")
        return keras.Model(inputs, self.classifier(self.feature_extractor(inputs)), name=f"{self.name}_inference")

    # === Training ===
    def fit(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.fit`; in-memory `x` is checked to be source and target batches first."""
        if isinstance(x, (dict, list, tuple)) or hasattr(x, "shape"):
            check_batches(x)
            check_fit_weights(y, kwargs.get("sample_weight"))
        if not self.feature_extractor.trainable_weights:
            warnings.warn(f"{self.name}: the feature extractor has no trainable weights, so step C (which trains "
                          "only it) updates nothing; only the classifiers adapt.", stacklevel=2)
        return super().fit(x, y, *args, **kwargs)

    def _probabilities(self, outputs):
        outputs = ops.cast(outputs, "float32")
        return ops.softmax(outputs, axis=-1) if self.from_logits else outputs

    def _discrepancy(self, features):
        first = self._probabilities(self.classifier(features, training=True))
        second = self._probabilities(self.second_classifier(features, training=True))
        return classifier_discrepancy(first, second)

    def _source_losses(self, features, y, sample_weight):
        """Both classifiers' compiled losses on the source features (replica-scaled, as Keras's), and `p1`."""
        predictions = self.classifier(features, training=True)
        second = self.second_classifier(features, training=True)
        loss = self._compile_loss(y, predictions, sample_weight) + self._compile_loss(y, second, sample_weight)
        return ops.cast(loss, "float32"), predictions

    @staticmethod
    def _regularization(*layers):
        terms = [ops.cast(ops.sum(term), "float32") for layer in layers for term in layer.losses]
        return ops.sum(ops.stack(terms)) if terms else 0.0

    def _update(self, tape, loss, variables, iteration):
        """One optimizer update of `variables`, at the batch's iteration (the count is restored first)."""
        if not variables:
            return
        if iteration is not None:
            self.optimizer.iterations.assign(iteration)
        self._apply_gradients(tape, loss, variables)

    def source_step(self, x_source, y, sample_weight=None):
        """Step A: extractor and both classifiers minimise the source losses. Returns `(loss, predictions)`."""
        with tf.GradientTape() as tape:
            loss, predictions = self._source_losses(self.feature_extractor(x_source, training=True), y, sample_weight)
            loss = loss + self._replica_loss(self._regularization(self))
            scaled = self.optimizer.scale_loss(loss)
        self._update(tape, scaled, self.trainable_weights, None)
        return loss, predictions

    def classifier_step(self, x_source, x_target, y, sample_weight=None, iteration=None):
        """Step B: the classifiers maximise their target discrepancy (extractor fixed). Returns it, before the step."""
        source = ops.stop_gradient(self.feature_extractor(x_source, training=True))
        target = ops.stop_gradient(self.feature_extractor(x_target, training=True))
        classifiers = self.classifier.trainable_weights + self.second_classifier.trainable_weights
        with tf.GradientTape() as tape:
            loss, _ = self._source_losses(source, y, sample_weight)
            discrepancy = self._discrepancy(target)
            loss = loss - self._replica_loss(discrepancy)
            loss = loss + self._replica_loss(self._regularization(self.classifier, self.second_classifier))
            scaled = self.optimizer.scale_loss(loss)
        self._update(tape, scaled, classifiers, iteration)
        return discrepancy

    def extractor_step(self, x_target, iteration=None):
        """Step C (once): the extractor minimises the target discrepancy (classifiers fixed). Returns it, before."""
        with tf.GradientTape() as tape:
            discrepancy = self._discrepancy(self.feature_extractor(x_target, training=True))
            loss = self._replica_loss(discrepancy + self._regularization(self.feature_extractor))
            scaled = self.optimizer.scale_loss(loss)
        self._update(tape, scaled, self.feature_extractor.trainable_weights, iteration)
        return discrepancy

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        check_batches(x)
        if y is None:
            raise _checks.invalid("y", "source labels in each training batch", y)
        x_source, x_target = x["source"], ops.cast(x["target"], x["source"].dtype)
        if not self.built:
            self.build((None, *x_source.shape[1:]))
        iteration = ops.copy(self.optimizer.iterations)  # the value now, not the variable
        loss, predictions = self.source_step(x_source, y, sample_weight)
        discrepancy = self.classifier_step(x_source, x_target, y, sample_weight, iteration)
        for _ in range(self.generator_steps):
            self.extractor_step(x_target, iteration)
        self._track_loss(loss, ops.shape(x_source)[0])
        self.discrepancy_tracker.update_state(discrepancy)
        return self.compute_metrics(x_source, y, predictions, sample_weight=sample_weight)

    def test_step(self, data):
        logs = super().test_step(data)
        return {k: v for k, v in logs.items() if k not in _LOG_KEYS}

    # === Config ===
    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "feature_extractor": keras.saving.serialize_keras_object(self.feature_extractor),
                "classifier": keras.saving.serialize_keras_object(self.classifier),
                "second_classifier": keras.saving.serialize_keras_object(self.second_classifier),
                "generator_steps": self.generator_steps,
                "from_logits": self.from_logits,
            }
        )
        return config
