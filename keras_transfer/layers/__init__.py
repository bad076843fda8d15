"""Public Keras layers of keras_transfer (all registered for serialization)."""

from keras_transfer.backbones.freezable_dropout import FreezableDropout
from keras_transfer.backbones.image_preprocessing import ImagePreprocessing
from keras_transfer.domain_adaptation.conditional_domain_adversarial_head import ConditionalDomainAdversarialHead
from keras_transfer.domain_adaptation.domain_adversarial_head import DomainAdversarialHead
from keras_transfer.domain_adaptation.gradient_reversal import GradientReversal
from keras_transfer.domain_adaptation.margin_disparity_head import MarginDisparityHead
from keras_transfer.generative.pseudo_ssl_generator import PseudoSSLGenerator
from keras_transfer.peft.adapter import BottleneckAdapter
from keras_transfer.peft.adapter_encoder import AdapterTransformerEncoder
from keras_transfer.peft.peft_conv1d import PeftConv1D
from keras_transfer.peft.peft_conv2d import PeftConv2D
from keras_transfer.peft.peft_dense import PeftDense
from keras_transfer.peft.peft_einsum_dense import PeftEinsumDense
from keras_transfer.regularizers.stochnorm import StochNorm
from keras_transfer.ssl.strong_augment import StrongAugment
from keras_transfer.ssl.weak_augment import WeakAugment
from keras_transfer.text.pooling import TextPooling

__all__ = [
    "AdapterTransformerEncoder",
    "BottleneckAdapter",
    "ConditionalDomainAdversarialHead",
    "DomainAdversarialHead",
    "FreezableDropout",
    "GradientReversal",
    "ImagePreprocessing",
    "MarginDisparityHead",
    "PeftConv1D",
    "PeftConv2D",
    "PeftDense",
    "PeftEinsumDense",
    "PseudoSSLGenerator",
    "StochNorm",
    "StrongAugment",
    "TextPooling",
    "WeakAugment",
]
