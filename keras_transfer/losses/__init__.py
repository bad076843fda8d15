"""Public Keras losses of keras_transfer (all registered for serialization).

`MMD`, `JMMD`, `CORAL` and `ContrastiveSemanticAlignment` (CCSA) are alignments of `DomainAdaptationModel`; `BSP`,
`MCC`, `AFN` and `TargetEntropy` are `DomainRegularizer` terms added to any
alignment through its `regularizers` argument.
"""

from keras_transfer.domain_adaptation.afn import AFN
from keras_transfer.domain_adaptation.bsp import BSP
from keras_transfer.domain_adaptation.contrastive_semantic_alignment import ContrastiveSemanticAlignment
from keras_transfer.domain_adaptation.coral import CORAL
from keras_transfer.domain_adaptation.domain_regularizer import DomainRegularizer
from keras_transfer.domain_adaptation.jmmd import JMMD
from keras_transfer.domain_adaptation.mcc import MCC
from keras_transfer.domain_adaptation.mmd import MMD
from keras_transfer.domain_adaptation.target_entropy import TargetEntropy

__all__ = ["AFN", "BSP", "CORAL", "ContrastiveSemanticAlignment", "DomainRegularizer", "JMMD", "MCC", "MMD", "TargetEntropy"]
