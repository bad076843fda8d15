"""Public Keras callbacks of keras_transfer."""

from keras_transfer.domain_adaptation.gradient_reversal_schedule import GradientReversalSchedule

__all__ = []
__all__ += ["GradientReversalSchedule"]
