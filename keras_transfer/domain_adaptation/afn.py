"""`AFN`: adaptive feature norm, stepwise (SAFN) or toward a fixed radius (HAFN)."""

from keras import ops

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.domain_adaptation.domain_regularizer import DomainRegularizer


@keras_transfer_export("keras_transfer.losses.AFN")
class AFN(DomainRegularizer):
    """Adaptive feature norm: larger feature norms on both domains.

    Features of small norm carry little information for the classifier,
    and target features tend to have smaller norms than source ones. With
    `radius=None` (stepwise AFN), each example's feature norm is pulled
    `step` above its current value (`(stop_gradient(|f|) + step - |f|)²`);
    with a `radius`, toward that fixed norm (hard AFN). The term is the
    mean over the source batch plus the mean over the target batch. Works
    alone (`alignment=None`, the paper's setting) or added to an alignment.

    Args:
        radius: float > 0 or `None` (stepwise). Defaults to `None`.
        step: float > 0, the stepwise increment. Defaults to `1.0`.
        weight: float >= 0. Defaults to `0.05` (the paper's value).
        name: log name. Defaults to `"afn"`.

    Example:

    >>> import numpy as np, keras_transfer
    >>> features = np.array([[3.0, 4.0]])  # norm 5
    >>> logits = np.zeros((1, 2))
    >>> float(keras_transfer.losses.AFN(radius=7.0)(features, features, logits, logits))  # (5-7)^2 twice
    8.0
    >>> float(keras_transfer.losses.AFN(step=1.0)(features, features, logits, logits))
    2.0

    Reference:
        Xu et al., "Larger Norm More Transferable: An Adaptive Feature Norm
        Approach for Unsupervised Domain Adaptation", ICCV 2019.
    """

    default_weight = 0.05
    default_name = "afn"

    def __init__(self, radius=None, step=1.0, weight=None, name=None):
        super().__init__(weight, name)
        self.radius = None if radius is None else _checks.check_float("radius", radius, minimum=0.0,
                                                                      exclusive_minimum=True)
        self.step = _checks.check_float("step", step, minimum=0.0, exclusive_minimum=True)

    def _term(self, features):
        norms = ops.sqrt(ops.sum(ops.square(features), axis=-1) + 1e-12)
        goal = self.radius if self.radius is not None else ops.stop_gradient(norms) + self.step
        return ops.mean(ops.square(norms - goal))

    def call(self, source_features, target_features, source_logits, target_logits):
        return self._term(source_features) + self._term(target_features)

    def get_config(self):
        return {**super().get_config(), "radius": self.radius, "step": self.step}
