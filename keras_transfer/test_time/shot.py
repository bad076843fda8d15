"""`SHOT`: source-free domain adaptation of a feature extractor under a frozen source classifier."""

import keras
import tensorflow as tf
from keras import ops

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.data import checks
from keras_transfer.models import _outputs
from keras_transfer.models.transfer_model import TransferModel
from keras_transfer.test_time.clustering import CentroidRefresh


def _labels_error(received):
    return ValueError(
        "Invalid value received for argument `y`: SHOT adapts to unlabelled target inputs, so `fit` takes "
        f"inputs only. Received: {received}. With target labels, fine-tune instead "
        '(kt.transfer("fine_tune", ...)); to measure SHOT, pass them to `validation_data` or `evaluate`.'
    )


@keras_transfer_export("keras_transfer.test_time.SHOT")
class SHOT(TransferModel, keras.Model):
    """Source-free domain adaptation by information maximisation and self-supervised pseudo-labels.

    A source model split in two, `feature_extractor` (trained on the target)
    and `classifier` (the source hypothesis, frozen), adapts with unlabelled
    target inputs alone: `fit(x_target)`. The loss of a batch is

    `mean_i H(p_i) - diversity_weight * H(mean_i p_i) + pseudo_label_weight * CE(pseudo, p)`

    with `p_i` the predicted class probabilities: confident predictions
    (low entropy of each), spread over the classes (high entropy of their
    mean), and agreeing with pseudo-labels. The pseudo-label of an input is
    the class centroid nearest (cosine) to its features; the centroids are
    recomputed over all of `x` at the start of every epoch (two rounds of
    weighted k-means, as in the paper); inputs are assigned with their
    current features. Under `tf.distribute`, `mean_i p_i` is taken over each
    replica's batch.

    The feature extractor trains in place (its BatchNormalization layers in
    training mode); `classifier` never changes. `predict` and `__call__`
    return class probabilities; `evaluate(x, y)` and `validation_data`
    report `accuracy`.

    Args:
        feature_extractor: Keras model, inputs -> flat features `(batch, d)`.
        classifier: Keras model or layer, features -> class logits or
            probabilities (softmax).
        pseudo_label_weight: float >= 0, weight of the pseudo-label term
            (the paper's beta). Defaults to `0.3`.
        diversity_weight: float >= 0. Defaults to `1.0`.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> features = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu")])
    >>> classifier = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, activation="softmax")])
    >>> shot = keras_transfer.test_time.SHOT(features, classifier)
    >>> shot.compile(optimizer="adam")
    >>> x_target = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    >>> sorted(shot.fit(x_target, epochs=1, verbose=0).history)
    ['im_loss', 'loss', 'pseudo_label_loss']

    Reference:
        Liang, Hu & Feng, "Do We Really Need to Access the Source Data?
        Source Hypothesis Transfer for Unsupervised Domain Adaptation",
        ICML 2020.
    """

    _trained_attributes = ("feature_extractor",)
    _nested_config = ("feature_extractor", "classifier")

    def __init__(self, feature_extractor, classifier, *, pseudo_label_weight=0.3, diversity_weight=1.0, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(feature_extractor, keras.Model):
            raise _checks.invalid("feature_extractor", "a Keras model (inputs -> features)", feature_extractor, error=TypeError)
        if not isinstance(classifier, keras.layers.Layer):
            raise _checks.invalid("classifier", "a Keras model or layer (features -> classes)", classifier, error=TypeError)
        shape = tuple(feature_extractor.output_shape)
        if len(shape) != 2 or shape[-1] is None:
            raise _checks.invalid("feature_extractor", "a model with flat outputs (batch, features)", f"output shape {shape}")
        self.pseudo_label_weight = _checks.check_float("pseudo_label_weight", pseudo_label_weight, minimum=0.0)
        self.diversity_weight = _checks.check_float("diversity_weight", diversity_weight, minimum=0.0)
        self._from_logits = _outputs.detect_from_logits("classifier", classifier, shape[1:], (-1.0, 1.0))
        out = classifier.output_shape if isinstance(classifier, keras.Model) else classifier.compute_output_shape(shape)
        classes = int(out[-1])
        self.feature_extractor = feature_extractor
        self.classifier = classifier
        self.centroids = self.add_weight(shape=(classes, shape[-1]), initializer="zeros", trainable=False, name="centroids")
        self.im_loss_tracker = keras.metrics.Mean(name="im_loss")
        self.pseudo_label_loss_tracker = keras.metrics.Mean(name="pseudo_label_loss")
        self.accuracy_tracker = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        self.built = True

    def probabilities_of(self, features):
        """float32 class probabilities of the classifier for `features`."""
        return _outputs.probabilities(self.classifier(features, training=False), self._from_logits)

    def call(self, inputs, training=False):
        return self.probabilities_of(self.feature_extractor(inputs, training=training))

    def train_step(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        if y is not None:
            raise _labels_error("a dataset yielding (inputs, labels)")
        with tf.GradientTape() as tape:
            features = self.feature_extractor(x, training=True)
            log_p = _outputs.log_probabilities(self.classifier(features, training=False), self._from_logits)
            p = ops.exp(log_p)
            entropy = -ops.mean(ops.sum(p * log_p, axis=-1))
            mean_p = ops.mean(p, axis=0)
            diversity = -ops.sum(mean_p * ops.log(mean_p + 1e-5))
            im_loss = entropy - self.diversity_weight * diversity
            unit = ops.stop_gradient(ops.normalize(ops.cast(features, "float32"), axis=-1))
            pseudo = ops.argmax(ops.matmul(unit, ops.transpose(self.centroids)), axis=-1)
            pseudo_loss = -ops.mean(ops.take_along_axis(log_p, ops.expand_dims(pseudo, -1), axis=-1))
            loss = self._replica_loss(im_loss + self.pseudo_label_weight * pseudo_loss)
            self._track_loss(loss, ops.shape(p)[0])
            scaled = self.optimizer.scale_loss(loss)
        self._apply_gradients(tape, scaled, self.trainable_variables)
        self.im_loss_tracker.update_state(im_loss)
        self.pseudo_label_loss_tracker.update_state(pseudo_loss)
        return {"loss": self._loss_tracker.result(), "im_loss": self.im_loss_tracker.result(),
                "pseudo_label_loss": self.pseudo_label_loss_tracker.result()}

    def test_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if y is None:
            raise _checks.invalid("y", "labels to evaluate SHOT's predictions against", None)
        self.accuracy_tracker.update_state(y, self(x, training=False), sample_weight=sample_weight)
        return {"accuracy": self.accuracy_tracker.result()}

    @property
    def metrics(self):
        tracker = getattr(self, "_loss_tracker", None)
        own = [self.im_loss_tracker, self.pseudo_label_loss_tracker, self.accuracy_tracker]
        return ([tracker] if tracker is not None else []) + own

    def fit(self, x=None, y=None, batch_size=None, epochs=1, *args, **kwargs):
        """`keras.Model.fit` on unlabelled target inputs `x` (an array or a dataset of inputs)."""
        if y is not None:
            raise _labels_error(f"y of type {type(y).__name__}")
        if isinstance(x, (tuple, list)):
            raise _labels_error("x as a tuple (inputs, labels)")
        checks.check_dataset_not_empty("x", x)
        shape = checks.shape_of(self.feature_extractor, "input_shape")
        checks.check_examples("x", x, example_shape=None if not isinstance(shape, tuple) else shape[1:])
        checks.check_validation_data(self, kwargs.get("validation_data"))
        callbacks = [CentroidRefresh(x, batch_size), *(kwargs.pop("callbacks", None) or [])]
        return super().fit(x, None, batch_size, epochs, *args, callbacks=callbacks, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update({
            "feature_extractor": keras.saving.serialize_keras_object(self.feature_extractor),
            "classifier": keras.saving.serialize_keras_object(self.classifier),
            "pseudo_label_weight": self.pseudo_label_weight,
            "diversity_weight": self.diversity_weight,
        })
        return config
