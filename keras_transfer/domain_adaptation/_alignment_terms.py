"""The alignment loss and regulariser terms of `DomainAdaptationModel`'s step, on one device or the global batch."""

import tensorflow as tf
from keras import ops

from keras_transfer.domain_adaptation._adversarial_loss import adversarial_loss
from keras_transfer.domain_adaptation.contrastive_semantic_alignment import ContrastiveSemanticAlignment, class_ids
from keras_transfer.domain_adaptation.jmmd import JMMD
from keras_transfer.domain_adaptation.margin_disparity_head import MarginDisparityHead, margin_disparity_loss
from keras_transfer.models import _replicas


def synced_replicas():
    """The replica context while several replicas train in sync, else `None`."""
    if _replicas.num_replicas() == 1:
        return None
    return tf.distribute.get_replica_context()  # `None` in a cross-replica context


def alignment_loss(model, features, predictions, n_source, training, labelled=None):
    """`(loss, domain_accuracy or None)` of `model.alignment`.

    `features` and `predictions` hold the source rows, then the unlabelled
    target rows; `labelled` is `(source labels, labelled target features,
    their labels)` for `ContrastiveSemanticAlignment`.
    """
    alignment = model.alignment
    context = synced_replicas()
    if isinstance(alignment, MarginDisparityHead):
        return margin_disparity_loss(alignment, features, predictions, n_source, training, context)
    if model.adversarial:
        return adversarial_loss(alignment, features, predictions, n_source, training, context)
    if isinstance(alignment, ContrastiveSemanticAlignment):
        source_labels, labelled_features, labels = labelled
        features, labels = [features[:n_source], labelled_features], [class_ids(source_labels), class_ids(labels)]
        if context is not None:
            # The pairs of the global batch. Labels in their own gather: its gradient sums the
            # incoming gradients of every gathered tensor, and the labels have none.
            features = context.all_gather(features, axis=0)
            labels = context.all_gather([ops.cast(ids, "float32") for ids in labels], axis=0)
        return alignment([features[0], labels[0]], [features[1], labels[1]]), None
    parts = [features[:n_source], features[n_source:]]
    joint = isinstance(alignment, JMMD)
    if joint:
        probabilities = ops.softmax(predictions, axis=-1) if model.from_logits else predictions
        parts += [probabilities[:n_source], probabilities[n_source:]]
    if context is not None:
        # The discrepancy of the global batch, on every replica: MMD and CORAL
        # do not split into per-replica terms (gradients flow back through the gather).
        parts = context.all_gather(parts, axis=0)
    if joint:
        return alignment([parts[0], parts[2]], [parts[1], parts[3]]), None
    return alignment(parts[0], parts[1]), None


def regularizer_losses(model, features, predictions, n_source):
    """Each regulariser's term on the global batch (gathered from the replicas under `tf.distribute`)."""
    logits = ops.cast(predictions, "float32")
    if not model.from_logits:
        logits = ops.log(ops.maximum(logits, 1e-7))  # the same softmax as the probabilities
    parts = [features[:n_source], features[n_source:], logits[:n_source], logits[n_source:]]
    context = synced_replicas()
    if context is not None:
        parts = context.all_gather(parts, axis=0)
    return [regularizer(*parts) for regularizer in model.regularizers]
