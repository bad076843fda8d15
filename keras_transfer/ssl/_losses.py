"""Hard pseudo-labels and their masked cross-entropy, shared by FixMatch, FlexMatch and PseudoLabel."""

from keras import ops

from keras_transfer.models import _outputs


def pseudo_labels(outputs, from_logits):
    """`(confidence, label)` of each prediction, without gradient."""
    probabilities = ops.stop_gradient(_outputs.probabilities(outputs, from_logits))
    return ops.max(probabilities, axis=-1), ops.argmax(probabilities, axis=-1)


def masked_cross_entropy(outputs, labels, mask, from_logits):
    """Mean over the batch of `mask * -log p(label)` (masked images count as zero)."""
    log_probabilities = _outputs.log_probabilities(outputs, from_logits)
    # A one-hot product, not `take_along_axis`: its gather and scatter-add gradient cost more per step.
    one_hot = ops.one_hot(labels, ops.shape(log_probabilities)[-1], dtype=log_probabilities.dtype)
    cross_entropy = -ops.sum(one_hot * log_probabilities, axis=-1)
    return ops.mean(cross_entropy * mask)
