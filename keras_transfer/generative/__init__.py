"""Generative transfer (Yamaguchi et al.): pseudo pre-training and pseudo semi-supervised learning.

With only a source classifier and a source conditional generator (no source
data, disjoint label spaces, any target architecture):

- pseudo pre-training (PP): `PseudoPretrainer` fits the target architecture on
  generated source samples, then `replace_head` swaps in the target head;
- pseudo semi-supervised learning (P-SSL): `keras_transfer.layers.PseudoSSLGenerator` turns target
  images into pseudo samples, the unlabelled data of
  `keras_transfer.ssl.FixMatch`;
- `ConditionalVAE` is a reference generator to train on a source set.
"""

from keras_transfer.generative.conditional_generator import ConditionalVAE
from keras_transfer.generative.head import replace_head
from keras_transfer.generative.pseudo_pretrainer import PseudoPretrainer

__all__ = ["ConditionalVAE", "PseudoPretrainer", "replace_head"]
