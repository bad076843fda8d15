"""Task-adaptation regularisers: L2-SP, and the helpers of LwF, BSS, DELTA, Co-Tuning and StochNorm.

The models that train with them (`L2SPModel`, `LwFModel`, `BSSModel`,
`DELTAModel`, `CoTuningModel`) live in `keras_transfer.models`, the
`StochNorm` layer in `keras_transfer.layers`.
"""

from keras_transfer.regularizers.bss import batch_spectral_shrinkage
from keras_transfer.regularizers.co_tuning import category_relationship
from keras_transfer.regularizers.delta import delta_attention
from keras_transfer.regularizers.l2sp import L2SP
from keras_transfer.regularizers.l2sp_model import apply_l2sp
from keras_transfer.regularizers.stochnorm import apply_stochnorm

__all__ = [
    "L2SP",
    "apply_l2sp",
    "apply_stochnorm",
    "batch_spectral_shrinkage",
    "category_relationship",
    "delta_attention",
]
