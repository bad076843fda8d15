"""Public Keras losses of keras_transfer (all registered for serialization)."""

from keras_transfer.domain_adaptation.coral import CORAL
from keras_transfer.domain_adaptation.mmd import MMD

__all__ = ["CORAL", "MMD"]
