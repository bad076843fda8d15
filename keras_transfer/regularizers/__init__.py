"""Task-adaptation regularisers: L2-SP (pull fine-tuned weights toward their pretrained values)."""

from keras_transfer.regularizers.l2sp import L2SP
from keras_transfer.regularizers.l2sp_model import L2SPModel
from keras_transfer.regularizers.l2sp_model import apply_l2sp

__all__ = ["L2SP", "L2SPModel", "apply_l2sp"]
