"""`BSP`: batch spectral penalization of the largest singular values of each domain's features."""

from keras import ops

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.domain_adaptation.domain_regularizer import DomainRegularizer
from keras_transfer.regularizers.bss import singular_values


@keras_transfer_export("keras_transfer.losses.BSP")
class BSP(DomainRegularizer):
    """Batch spectral penalization: `sum_{i<=k} sigma_i(F_s)² + sigma_i(F_t)²`.

    Adversarial alignment tends to make a few directions of the features
    dominate (the largest singular values of the feature batch), which
    transfer well but discriminate poorly. BSP penalises the `k` largest
    singular values of the source and of the target feature batch, so the
    other directions keep their share. Meant to be added to an alignment
    (the paper uses DANN and CDAN):
    `DomainAdaptationModel(..., alignment=DomainAdversarialHead(), regularizers=[BSP()])`.

    Args:
        k: int >= 1, how many of the largest singular values. Defaults to `1`.
        weight: float >= 0. Defaults to `1e-4` (the paper's value).
        name: log name. Defaults to `"bsp"`.

    Example:

    >>> import numpy as np, keras_transfer
    >>> bsp = keras_transfer.losses.BSP(k=1)
    >>> source, target = np.diag([3.0, 1.0]), np.diag([2.0, 0.5])
    >>> logits = np.zeros((2, 3))
    >>> float(bsp(source, target, logits, logits))  # 3^2 + 2^2
    13.0

    Reference:
        Chen et al., "Transferability vs. Discriminability: Batch Spectral
        Penalization for Adversarial Domain Adaptation", ICML 2019.
    """

    default_weight = 1e-4
    default_name = "bsp"

    def __init__(self, k=1, weight=None, name=None):
        super().__init__(weight, name)
        self.k = _checks.check_int("k", k, minimum=1)

    def call(self, source_features, target_features, source_logits, target_logits):
        return sum(ops.sum(ops.square(singular_values(f, self.k, largest=True)))
                   for f in (source_features, target_features))

    def get_config(self):
        return {**super().get_config(), "k": self.k}
