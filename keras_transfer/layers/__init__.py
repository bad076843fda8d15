"""Public Keras layers of keras_transfer (all registered for serialization)."""

from keras_transfer.backbones.freezable_dropout import FreezableDropout
from keras_transfer.backbones.image_preprocessing import ImagePreprocessing
from keras_transfer.domain_adaptation.conditional_domain_adversarial_head import ConditionalDomainAdversarialHead
from keras_transfer.domain_adaptation.domain_adversarial_head import DomainAdversarialHead
from keras_transfer.domain_adaptation.gradient_reversal import GradientReversal
from keras_transfer.domain_adaptation.margin_disparity_head import MarginDisparityHead
from keras_transfer.generative.pseudo_ssl_generator import PseudoSSLGenerator
from keras_transfer.regularizers.stochnorm import StochNorm
from keras_transfer.ssl.strong_augment import StrongAugment
from keras_transfer.ssl.weak_augment import WeakAugment
from keras_transfer.text.pooling import TextPooling

__all__ = [
    "ConditionalDomainAdversarialHead",
    "DomainAdversarialHead",
    "FreezableDropout",
    "GradientReversal",
    "ImagePreprocessing",
    "MarginDisparityHead",
    "PseudoSSLGenerator",
    "StochNorm",
    "StrongAugment",
    "TextPooling",
    "WeakAugment",
]
