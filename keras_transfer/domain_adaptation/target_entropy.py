"""`TargetEntropy`: entropy minimisation of the target predictions."""

from keras import ops

from keras_transfer.api_export import keras_transfer_export
from keras_transfer.domain_adaptation.domain_regularizer import DomainRegularizer


@keras_transfer_export("keras_transfer.losses.TargetEntropy")
class TargetEntropy(DomainRegularizer):
    """Mean entropy `-sum_c p_c log p_c` of the classifier's target predictions.

    Pushes the decision boundary away from dense regions of the unlabelled
    target data (the cluster assumption). Alone it can collapse to few
    classes on hard shifts; it is usually added to an alignment.

    Args:
        weight: float >= 0. Defaults to `0.1`.
        name: log name. Defaults to `"entropy"`.

    Example:

    >>> import numpy as np, keras_transfer
    >>> entropy = keras_transfer.losses.TargetEntropy()
    >>> round(float(entropy(None, None, None, np.zeros((4, 2)))), 4)  # log 2
    0.6931

    Reference:
        Grandvalet and Bengio, "Semi-supervised Learning by Entropy
        Minimization", NeurIPS 2004; used for domain adaptation by Long et
        al., "Unsupervised Domain Adaptation with Residual Transfer
        Networks", NeurIPS 2016.
    """

    default_weight = 0.1
    default_name = "entropy"

    def call(self, source_features, target_features, source_logits, target_logits):
        log_p = ops.log_softmax(target_logits, axis=-1)
        return -ops.mean(ops.sum(ops.exp(log_p) * log_p, axis=-1))
