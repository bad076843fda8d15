"""Domain adaptation: gradient reversal (DANN), CDAN, MMD (DAN), CORAL, CCSA in `model.fit`; importance weights;
shallow feature transforms.

The public names of the alignment methods live in `keras_transfer.layers`,
`.losses`, `.models`, `.callbacks` and `.data`; `importance_weights` (source
sample weights for covariate shift), `reverse_validation` (model selection without target labels) and the transforms fitted on NumPy arrays
(`CORALTransform`, `SubspaceAlignment`, `TCA`, `FeatureAugmentation`, `MMDFeatureSelection`) live here.
"""

from keras_transfer.domain_adaptation.coral_transform import CORALTransform
from keras_transfer.domain_adaptation.feature_augmentation import FeatureAugmentation
from keras_transfer.domain_adaptation.importance_weights import importance_weights
from keras_transfer.domain_adaptation.mmd_feature_selection import MMDFeatureSelection
from keras_transfer.domain_adaptation.reverse_validation import reverse_validation
from keras_transfer.domain_adaptation.subspace_alignment import SubspaceAlignment
from keras_transfer.domain_adaptation.tca import TCA

__all__ = ["CORALTransform", "FeatureAugmentation", "MMDFeatureSelection", "SubspaceAlignment", "TCA", "importance_weights",
           "reverse_validation"]
