"""The domain classifier's loss and accuracy for DANN and CDAN heads, on one device or the replicas' global batch."""

from keras import ops

from keras_transfer.domain_adaptation.conditional_domain_adversarial_head import ConditionalDomainAdversarialHead
from keras_transfer.models import _replicas


def adversarial_loss(head, features, predictions, n_source, training, context):
    """`(loss, domain_accuracy)`: binary cross-entropy source (1) vs target (0), each domain weighted one half.

    `context` is the replica context while several replicas train in sync
    (the loss is then normalised by the global weights and counts), else `None`.
    """
    conditional = isinstance(head, ConditionalDomainAdversarialHead)
    logits = head([features, predictions], training=training) if conditional else head(features, training=training)
    logits = ops.cast(ops.reshape(logits, (-1,)), "float32")
    is_source = ops.arange(ops.shape(logits)[0]) < n_source
    labels = ops.cast(is_source, "float32")
    losses = ops.binary_crossentropy(labels, logits, from_logits=True)
    weighted = conditional and head.entropy_conditioning
    if not weighted and context is None:
        # One device, every example weighing 1: the mean of each domain (fewer ops per step).
        correct = ops.cast(ops.equal(logits > 0.0, is_source), "float32")
        return (
            0.5 * (ops.mean(losses[:n_source]) + ops.mean(losses[n_source:])),
            0.5 * (ops.mean(correct[:n_source]) + ops.mean(correct[n_source:])),
        )
    weights = head.entropy_weights(predictions) if weighted else ops.ones_like(losses)
    source_w = ops.where(is_source, weights, 0.0)
    target_w = ops.where(is_source, 0.0, weights)
    correct = ops.cast(ops.equal(logits > 0.0, is_source), "float32")
    source_count = ops.cast(n_source, "float32")
    target_count = ops.cast(ops.shape(logits)[0] - n_source, "float32")
    totals = [ops.sum(source_w), ops.sum(target_w), source_count, target_count]
    if context is not None:
        # Normalise by the weights and counts of the global batch: each replica
        # holds its share of the global loss (times the replica count, as the
        # other per-replica values, so their mean is the global value).
        totals = context.all_reduce("sum", [ops.stop_gradient(t) for t in totals])
    factor = 1.0 if context is None else float(_replicas.num_replicas())
    loss = factor * 0.5 * (ops.sum(source_w * losses) / totals[0] + ops.sum(target_w * losses) / totals[1])
    accuracy = factor * 0.5 * (
        ops.sum(ops.where(is_source, correct, 0.0)) / totals[2]
        + ops.sum(ops.where(is_source, 0.0, correct)) / totals[3]
    )
    return loss, accuracy
