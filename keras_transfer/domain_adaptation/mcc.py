"""`MCC`: minimum class confusion of the target predictions."""

from keras import ops

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.domain_adaptation.domain_regularizer import DomainRegularizer


@keras_transfer_export("keras_transfer.losses.MCC")
class MCC(DomainRegularizer):
    """Minimum class confusion on the target batch.

    With `P = softmax(target_logits / temperature)` (`b x C`), examples
    weighted by `1 + exp(-H(p_i))` (confident ones count more; the weights
    are normalised to sum to `b` and carry no gradient), the class
    correlation matrix `C = P^T diag(w) P` is normalised row by row, and the
    loss is the mass off its diagonal divided by the number of classes: how
    often the classifier confuses two classes on the target domain. Works
    alone (`alignment=None`) or added to an alignment.

    Args:
        temperature: float > 0. Defaults to `2.5` (the paper's value).
        weight: float >= 0. Defaults to `1.0`.
        name: log name. Defaults to `"mcc"`.

    Example:

    >>> import numpy as np, keras_transfer
    >>> mcc = keras_transfer.losses.MCC()
    >>> sure = np.array([[9.0, 0.0], [0.0, 9.0]])  # two confident, different classes
    >>> unsure = np.zeros((2, 2))
    >>> float(mcc(None, np.zeros((2, 1)), None, sure)) < float(mcc(None, np.zeros((2, 1)), None, unsure))
    True

    Reference:
        Jin et al., "Minimum Class Confusion for Versatile Domain
        Adaptation", ECCV 2020 (https://arxiv.org/abs/1912.03699).
    """

    default_name = "mcc"

    def __init__(self, temperature=2.5, weight=None, name=None):
        super().__init__(weight, name)
        self.temperature = _checks.check_float("temperature", temperature, minimum=0.0, exclusive_minimum=True)

    def call(self, source_features, target_features, source_logits, target_logits):
        probabilities = ops.softmax(target_logits / self.temperature, axis=-1)
        entropy = -ops.sum(probabilities * ops.log(probabilities + 1e-5), axis=-1)
        weights = 1.0 + ops.exp(-ops.stop_gradient(entropy))
        weights = weights * ops.cast(ops.shape(weights)[0], "float32") / ops.sum(weights)
        confusion = ops.matmul(ops.transpose(probabilities * weights[:, None]), probabilities)
        confusion = confusion / ops.sum(confusion, axis=1, keepdims=True)
        classes = ops.cast(ops.shape(confusion)[0], "float32")
        return (ops.sum(confusion) - ops.trace(confusion)) / classes

    def get_config(self):
        return {**super().get_config(), "temperature": self.temperature}
