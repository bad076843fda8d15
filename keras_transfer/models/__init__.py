"""Public Keras models of keras_transfer (all registered for serialization)."""

from keras_transfer.feature_extraction.transfer_classifier import TransferClassifier
from keras_transfer.regularizers.l2sp_model import L2SPModel

__all__ = ["L2SPModel", "TransferClassifier"]
