"""Domain adaptation: gradient reversal (DANN), CDAN, MMD (DAN), CORAL in `model.fit`; importance weights.

The public names of the alignment methods live in `keras_transfer.layers`,
`.losses`, `.models`, `.callbacks` and `.data`; `importance_weights` (source
sample weights for covariate shift) lives here.
"""

from keras_transfer.domain_adaptation.importance_weights import importance_weights
from keras_transfer.domain_adaptation.reverse_validation import reverse_validation

__all__ = ["importance_weights", "reverse_validation"]
