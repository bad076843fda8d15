"""Text transfer through keras-hub: text classifiers from presets.

`build_text_classifier(preset, num_classes)` loads a keras-hub text encoder
(a preset name, a local Keras preset directory, or a local Hugging Face
checkpoint) with its tokenizer and adds a new head. The models take raw
strings: tokenization runs in the `tf.data` input pipeline, so the compiled
train step (`jit_compile=True`) only sees token ids. Their layer groups
(`"embeddings"`, `"transformer_layer_<i>"`, ..., `"head"`) are what
`set_trainable`, `FreezeSchedule` and `DiscriminativeLR` address.
"""

from keras_transfer.text.build_text_classifier import build_text_classifier
from keras_transfer.text.demo import run_text_demo
from keras_transfer.text.pooling import TextPooling
from keras_transfer.text.presets import PresetNotFoundError
from keras_transfer.text.saved_model import load_saved_model
from keras_transfer.text.text_classifier import TextClassifier
from keras_transfer.text.text_encoder import TextEncoder

__all__ = [
    "PresetNotFoundError",
    "TextClassifier",
    "TextEncoder",
    "TextPooling",
    "build_text_classifier",
    "load_saved_model",
    "run_text_demo",
]
