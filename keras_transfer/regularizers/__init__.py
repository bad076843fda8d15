"""Task-adaptation regularisers: L2-SP (pull fine-tuned weights toward their pretrained values).

`L2SPModel`, the model that trains with it, lives in `keras_transfer.models`.
"""

from keras_transfer.regularizers.l2sp import L2SP
from keras_transfer.regularizers.l2sp_model import apply_l2sp

__all__ = ["L2SP", "apply_l2sp"]
