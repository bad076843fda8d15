"""`DomainAdaptationModel`: feature extractor + classifier + an alignment, trained by `fit`."""

import keras
import tensorflow as tf
from keras import ops

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.models import _replicas
from keras_transfer.models.transfer_model import TransferModel
from keras_transfer.domain_adaptation.conditional_domain_adversarial_head import (
    ConditionalDomainAdversarialHead,
)
from keras_transfer.domain_adaptation import _alignment_terms
from keras_transfer.domain_adaptation._model_checks import check_batches, check_sample_weight, check_from_logits, \
    check_regularizers
from keras_transfer.domain_adaptation.contrastive_semantic_alignment import ContrastiveSemanticAlignment
from keras_transfer.domain_adaptation.coral import CORAL
from keras_transfer.domain_adaptation.domain_adversarial_head import DomainAdversarialHead
from keras_transfer.domain_adaptation.jmmd import JMMD
from keras_transfer.domain_adaptation.margin_disparity_head import MarginDisparityHead
from keras_transfer.domain_adaptation.mmd import MMD

ALIGNMENTS = (DomainAdversarialHead, ConditionalDomainAdversarialHead, MMD, CORAL, MarginDisparityHead,  # JMMD: an MMD
              ContrastiveSemanticAlignment)
_ALIGNMENT_NAMES = (
    "a keras_transfer.layers.DomainAdversarialHead, a keras_transfer.layers."
    "ConditionalDomainAdversarialHead, a keras_transfer.losses.MMD, JMMD, CORAL or ContrastiveSemanticAlignment, a "
    "keras_transfer.layers.MarginDisparityHead (MDD), or None (no alignment)"
)
_DA_LOG_KEYS = ("task_loss", "alignment_loss", "domain_accuracy")


def _check_layer(name, value):
    if not isinstance(value, keras.layers.Layer):
        raise _checks.invalid(name, "a Keras layer or model", value, error=TypeError)
    return value


@keras_transfer_export("keras_transfer.models.DomainAdaptationModel")
class DomainAdaptationModel(TransferModel, keras.Model):
    """A classifier trained on labelled source data and unlabelled target data.

    Each training batch holds a labelled source batch and an unlabelled target
    batch (`keras_transfer.data.domain_adaptation_dataset` builds them).
    Both go through `feature_extractor` in one pass (BatchNormalization
    normalises with the statistics of both domains), or in one pass per
    domain with `joint_forward=False` (per-domain batch statistics during
    training, as ADAPT does); `classifier` is trained on the source labels with the
    compiled loss, and `alignment` pulls the two domains' features together:

    - `keras_transfer.layers.DomainAdversarialHead` (DANN): a domain
      classifier behind gradient reversal, binary cross-entropy between
      source (label 1) and target (label 0), each domain weighted one half.
    - `keras_transfer.layers.ConditionalDomainAdversarialHead` (CDAN, CDAN+E):
      the same on features x class predictions.
    - `keras_transfer.losses.MMD` (DAN) or `keras_transfer.losses.CORAL`:
      a discrepancy between the feature batches, minimised.
    - `keras_transfer.losses.JMMD` (JAN): the discrepancy of the joint
      distributions of features and class probabilities.
    - `keras_transfer.layers.MarginDisparityHead` (MDD): an auxiliary
      classifier behind gradient reversal, trained to disagree with the
      classifier on the target and agree with it on the source by a margin.
    - `keras_transfer.losses.ContrastiveSemanticAlignment` (CCSA): pairs of
      source and *labelled* target examples, same-class pairs pulled
      together, the others pushed apart (needs labelled target batches,
      no unlabelled ones).
    - `None`: no alignment (source-only training, or `regularizers` alone).

    A few labelled target examples (`domain_adaptation_dataset(...,
    labelled_target=(x_l, y_l))`, semi-supervised domain adaptation) go
    through the same forward pass and join the source batch in the task
    loss, each weighing `labelled_target_weight` (1 as a source example; 0
    keeps them out of it, as CCSA's paper does); the alignments that compare
    domains see only the source and unlabelled target rows.

    `regularizers` adds terms computed from both domains' features and
    logits (`keras_transfer.losses.BSP`, `MCC`, `AFN`, `TargetEntropy`, or
    your own `DomainRegularizer`), each with its own `weight`, to any
    alignment. The loss minimised is
    `task_loss + alignment_weight * alignment_loss + sum_i weight_i * term_i`.
    Logs show `loss` (that sum), `task_loss`, `alignment_loss`, the compiled
    metrics on the source batch and, for adversarial heads, the
    `domain_accuracy` of the domain classifier (near 0.5 once the domains are
    confused), and each regulariser's term as `"{name}_loss"`.
    `sample_weight` weights the source task loss. The compiled metrics are
    those of the source batch.

    Under `tf.distribute` (create and compile the model inside
    `strategy.scope()`), the losses are those of the global batch: MMD and
    CORAL are computed on the features gathered from all replicas, and the
    adversarial loss and `domain_accuracy` are normalised by the global
    counts (and CDAN+E weights), so training matches one device on the same
    global batch (see the distributed training page of the docs).

    Calling the model, `predict` and `evaluate` take plain inputs and return
    the classifier's output: `validation_data=(x_val, y_val)` evaluates on
    (labelled target) data as any Keras model. `inference_model` is the plain
    functional `feature_extractor` + `classifier` model for saving and export.

    Args:
        feature_extractor: a Keras model or layer, inputs -> features.
        classifier: a Keras model or layer, features -> class predictions.
        alignment: one of the alignment objects above, or `None`.
        alignment_weight: float >= 0, the factor of the alignment loss.
            Defaults to `1.0`.
        regularizers: a list of `keras_transfer.losses.DomainRegularizer`
            (distinct names). Defaults to none.
        from_logits: whether `classifier` outputs logits (`True`) or
            probabilities (`False`), for `JMMD` and the regularisers;
            `None` reads it from the classifier's last layer. Defaults to `None`.
        joint_forward: bool, one forward pass over the concatenated source
            and target batch (`True`) or one pass per domain (`False`).
            Defaults to `True`.
        labelled_target_weight: float >= 0, the weight of a labelled target
            example in the task loss, relative to a source example. Defaults
            to `1.0`.

    Call arguments:
        inputs: a batch of inputs (or the dict `{"source": ..., "target": ...}`
            of a training batch, whose source part is classified).
        training: bool.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> features = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu")])
    >>> classifier = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, activation="softmax")])
    >>> model = keras_transfer.models.DomainAdaptationModel(
    ...     features, classifier, alignment=keras_transfer.layers.DomainAdversarialHead((16,)))
    >>> model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    >>> rng = np.random.default_rng(0)
    >>> data = keras_transfer.data.domain_adaptation_dataset(
    ...     source=(rng.normal(size=(64, 4)), rng.integers(0, 3, 64)),
    ...     target=rng.normal(1.0, 1.0, size=(48, 4)), batch_size=16)
    >>> history = model.fit(data, epochs=1, verbose=0)
    >>> sorted(history.history)
    ['accuracy', 'alignment_loss', 'domain_accuracy', 'loss', 'task_loss']
    >>> model.predict(np.zeros((2, 4)), verbose=0).shape
    (2, 3)

    Reference:
        Ganin et al., "Domain-Adversarial Training of Neural Networks", JMLR
        2016; Long et al., "Learning Transferable Features with Deep
        Adaptation Networks", ICML 2015; Sun and Saenko, "Deep CORAL", ECCV
        2016 workshops; Long et al., "Conditional Adversarial Domain
        Adaptation", NeurIPS 2018; Long et al., "Deep Transfer Learning with
        Joint Adaptation Networks", ICML 2017; Zhang et al., "Bridging Theory
        and Algorithm for Domain Adaptation", ICML 2019; Motiian et al.,
        "Unified Deep Supervised Domain Adaptation and Generalization", ICCV
        2017.
    """

    _build_before_tracing = True
    _nested_config = ("feature_extractor", "classifier", "alignment")

    def __init__(self, feature_extractor, classifier, alignment, alignment_weight=1.0, joint_forward=True,
                 regularizers=None, from_logits=None, labelled_target_weight=1.0, **kwargs):
        super().__init__(**kwargs)
        self.feature_extractor = _check_layer("feature_extractor", feature_extractor)
        self.classifier = _check_layer("classifier", classifier)
        if alignment is not None and not isinstance(alignment, ALIGNMENTS):
            raise _checks.invalid("alignment", _ALIGNMENT_NAMES, alignment, error=TypeError)
        self.alignment = alignment
        self.regularizers = check_regularizers(regularizers)
        self.from_logits = check_from_logits(from_logits, classifier, isinstance(alignment, JMMD) or self.regularizers)
        self.alignment_weight = _checks.check_float("alignment_weight", alignment_weight, minimum=0.0)
        if not isinstance(joint_forward, bool):
            raise _checks.invalid("joint_forward", "a bool", joint_forward, error=TypeError)
        self.joint_forward = joint_forward
        self.labelled_target_weight = _checks.check_float("labelled_target_weight", labelled_target_weight,
                                                          minimum=0.0)
        self.adversarial = isinstance(alignment, (DomainAdversarialHead, ConditionalDomainAdversarialHead))
        # Which batches the step needs: unlabelled target inputs (every alignment but CCSA's, and the
        # regularisers), labelled target examples (CCSA's pairs).
        self.needs_labelled = isinstance(alignment, ContrastiveSemanticAlignment)
        self.needs_target = bool(self.regularizers) or (alignment is not None and not self.needs_labelled)
        self.task_loss_tracker = keras.metrics.Mean(name="task_loss")
        if alignment is not None:
            self.alignment_loss_tracker = keras.metrics.Mean(name="alignment_loss")
        self.regularizer_trackers = [keras.metrics.Mean(name=f"{r.name}_loss") for r in self.regularizers]
        if self.adversarial:
            self.domain_accuracy_tracker = keras.metrics.Mean(name="domain_accuracy")
        shape = getattr(feature_extractor, "input_shape", None) if getattr(feature_extractor, "built", False) else None
        if shape is not None and not isinstance(shape, list):
            self.build(shape)  # a dict: the token inputs of a text encoder

    # === Build ===
    def build(self, input_shape):
        if isinstance(input_shape, dict) and "source" in input_shape:
            input_shape = input_shape["source"]
        if isinstance(input_shape, dict):  # token dict of a built text encoder (a functional model)
            features = keras.KerasTensor(tuple(self.feature_extractor.output_shape), dtype=self.compute_dtype)
        else:
            features = keras.KerasTensor(tuple(input_shape), dtype=self.compute_dtype)
            if not self.feature_extractor.built:
                self.feature_extractor.build(tuple(input_shape))
            features = self.feature_extractor.compute_output_spec(features)
        if not self.classifier.built:
            self.classifier.build(tuple(features.shape))
        predictions = self.classifier.compute_output_spec(features)
        if isinstance(self.alignment, DomainAdversarialHead) and not self.alignment.built:
            self.alignment.build(tuple(features.shape))
        elif isinstance(self.alignment, (ConditionalDomainAdversarialHead, MarginDisparityHead)) \
                and not self.alignment.built:
            self.alignment.build([tuple(features.shape), tuple(predictions.shape)])
        self.built = True

    def call(self, inputs, training=None):
        if isinstance(inputs, dict) and "source" in inputs:
            inputs = inputs["source"]
        return self.classifier(self.feature_extractor(inputs, training=training), training=training)

    @property
    def inference_model(self):
        """A new functional model `classifier(feature_extractor(x))`, sharing the weights.

        A plain Keras model: save it, export it (`model.export`), serve it.
        """
        try:
            token_inputs = isinstance(self.feature_extractor.input, dict)  # a text encoder's token dict
        except (AttributeError, ValueError):  # a Sequential model never called: one tensor input
            token_inputs = False
        if token_inputs:
            inputs = {name: keras.Input(shape=tuple(t.shape[1:]), dtype=t.dtype, name=name)
                      for name, t in self.feature_extractor.input.items()}
        else:
            inputs = keras.Input(shape=tuple(self.feature_extractor.input_shape[1:]), name="inputs")
        outputs = self.classifier(self.feature_extractor(inputs))
        return keras.Model(inputs, outputs, name=f"{self.name}_inference")

    # === Training ===
    def fit(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.fit`; in-memory `x` is checked to be source and target batches first."""
        if isinstance(x, (dict, list, tuple)) or hasattr(x, "shape"):
            check_batches(x, self.needs_target, self.needs_labelled)
            check_sample_weight(x, kwargs.get("sample_weight"))
        return super().fit(x, y, *args, **kwargs)

    def _unpack(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        check_batches(x, self.needs_target, self.needs_labelled)
        if y is None:
            raise _checks.invalid("y", "source labels in each training batch", y)
        labelled = (x["labelled_target"], x["labelled_target_labels"]) if "labelled_target" in x else None
        return x["source"], x.get("target"), labelled, y, sample_weight

    def _task_loss(self, x_source, y, y_pred, sample_weight, labelled, labelled_pred, joined_pred=None):
        """The compiled loss on the source batch, joined by the labelled target batch (weighted) when there is one.

        `joined_pred`: the source rows' predictions then the labelled rows', when already one tensor."""
        weight = self.labelled_target_weight
        if labelled is None or weight == 0.0:
            return self._compute_loss(x=x_source, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
        labels = ops.cast(labelled[1], y.dtype)
        if sample_weight is not None or weight != 1.0:
            n_source = ops.shape(y_pred)[0]
            source_weight = ops.ones((n_source,)) if sample_weight is None else ops.reshape(sample_weight, (-1,))
            sample_weight = ops.concatenate(
                [ops.cast(source_weight, "float32"), ops.full((ops.shape(labels)[0],), weight, "float32")], axis=0)
        joined_pred = ops.concatenate([y_pred, labelled_pred], axis=0) if joined_pred is None else joined_pred
        return self._compute_loss(x=x_source, y=ops.concatenate([y, labels], axis=0), y_pred=joined_pred,
                                  sample_weight=sample_weight, training=True)

    def _alignment_loss(self, features, predictions, n_source, training, labelled=None):
        """`(loss, domain_accuracy or None)` of the alignment (a hook: WDGRL trains its critic here)."""
        return _alignment_terms.alignment_loss(self, features, predictions, n_source, training, labelled)

    def train_step(self, data):
        x_source, x_target, labelled, y, sample_weight = self._unpack(data)
        if not self.built:  # parts without an input shape: built on the first batch
            self.build({"source": x_source} if isinstance(x_source, dict) else (None, *x_source.shape[1:]))
        others = [x for x in (x_target, None if labelled is None else labelled[0]) if x is not None]
        parts = [x_source] + [keras.tree.map_structure(lambda t, s: ops.cast(t, s.dtype), x, x_source) for x in others]
        sizes = [ops.shape(keras.tree.flatten(x)[0])[0] for x in parts]
        n_source = sizes[0]
        n_domains = n_source + sizes[1] if x_target is not None else n_source  # the source and unlabelled target rows
        with tf.GradientTape() as tape:
            if self.joint_forward and len(parts) > 1:
                joint = keras.tree.map_structure(lambda *x: ops.concatenate(x, axis=0), *parts)
                features = self.feature_extractor(joint, training=True)
            else:
                features = ops.concatenate([self.feature_extractor(x, training=True) for x in parts], axis=0)
            predictions = self.classifier(features, training=True)
            y_pred = predictions[:n_source]
            task_loss = self._task_loss(x_source, y, y_pred, sample_weight, labelled, predictions[n_domains:],
                                        joined_pred=predictions if x_target is None else None)  # source, labelled
            loss = ops.cast(task_loss, "float32")
            domain_features, domain_predictions = (features, predictions) if labelled is None else (  # no slice
                features[:n_domains], predictions[:n_domains])
            if self.alignment is not None:
                # CCSA's pairs: the source labels, the labelled target features and their labels
                pairs = {"labelled": (y, features[n_domains:], labelled[1])} if self.needs_labelled else {}
                alignment_loss, domain_accuracy = self._alignment_loss(
                    domain_features, domain_predictions, n_source, True, **pairs)
                alignment_loss = ops.cast(alignment_loss, "float32")
                loss = loss + self.alignment_weight * self._replica_loss(alignment_loss)
            terms = (_alignment_terms.regularizer_losses(self, domain_features, domain_predictions, n_source)
                     if self.regularizers else [])
            for regularizer, term in zip(self.regularizers, terms):
                loss = loss + regularizer.weight * self._replica_loss(term)
            self._track_loss(loss, n_source)
            scaled = self.optimizer.scale_loss(loss)
        self._apply_gradients(tape, scaled, self.trainable_weights)
        replicas = _replicas.num_replicas()
        self.task_loss_tracker.update_state(task_loss if replicas == 1 else task_loss * replicas)
        if self.alignment is not None:
            self.alignment_loss_tracker.update_state(alignment_loss)
            if domain_accuracy is not None:
                self.domain_accuracy_tracker.update_state(domain_accuracy)
        for tracker, term in zip(self.regularizer_trackers, terms):
            tracker.update_state(term)
        return self.compute_metrics(x_source, y, y_pred, sample_weight=sample_weight)

    def test_step(self, data):
        logs = super().test_step(data)
        training_only = set(_DA_LOG_KEYS) | {tracker.name for tracker in self.regularizer_trackers}
        return {k: v for k, v in logs.items() if k not in training_only}

    # === Config ===
    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "feature_extractor": keras.saving.serialize_keras_object(self.feature_extractor),
                "classifier": keras.saving.serialize_keras_object(self.classifier),
                "alignment": keras.saving.serialize_keras_object(self.alignment),
                "alignment_weight": self.alignment_weight,
                "joint_forward": self.joint_forward,
                "regularizers": [keras.saving.serialize_keras_object(r) for r in self.regularizers],
                "from_logits": self.from_logits,
                "labelled_target_weight": self.labelled_target_weight,
            }
        )
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["regularizers"] = [keras.saving.deserialize_keras_object(r, custom_objects=custom_objects)
                                  for r in config.get("regularizers") or ()]
        return super().from_config(config, custom_objects=custom_objects)
