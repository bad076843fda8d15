"""Public Keras models of keras_transfer (all registered for serialization).

`TransferModel` (in `transfer_model.py`) is the base every model of the
package shares; the other names are defined in their technique packages.
"""

from keras_transfer.domain_adaptation.domain_adaptation_model import DomainAdaptationModel
from keras_transfer.domain_adaptation.mcd_model import MCDModel
from keras_transfer.feature_extraction.transfer_classifier import TransferClassifier
from keras_transfer.models.transfer_model import TransferModel
from keras_transfer.regularizers.bss import BSSModel
from keras_transfer.regularizers.co_tuning import CoTuningModel
from keras_transfer.regularizers.delta import DELTAModel
from keras_transfer.regularizers.l2sp_model import L2SPModel
from keras_transfer.regularizers.lwf import LwFModel
from keras_transfer.text.text_classifier import TextClassifier
from keras_transfer.text.text_encoder import TextEncoder

__all__ = [
    "BSSModel",
    "CoTuningModel",
    "DELTAModel",
    "DomainAdaptationModel",
    "L2SPModel",
    "LwFModel",
    "MCDModel",
    "TextClassifier",
    "TextEncoder",
    "TransferClassifier",
    "TransferModel",
]
