"""Text transfer through keras-hub: text classifiers from presets.

`keras_transfer.build_text_classifier(preset, num_classes)` loads a keras-hub text encoder
(a preset name, a local Keras preset directory, or a local Hugging Face
checkpoint) with its tokenizer and adds a new head. The models take raw
strings: tokenization runs in the `tf.data` input pipeline, so the compiled
train step (`jit_compile=True`) only sees token ids. Their layer groups
(`"embeddings"`, `"transformer_layer_<i>"`, ..., `"head"`) are what
`set_trainable`, `FreezeSchedule` and `DiscriminativeLR` address.

The models it builds are `keras_transfer.models.TextClassifier` and
`TextEncoder`; their pooling layer is `keras_transfer.layers.TextPooling`.
"""

from keras_transfer.text.demo import run_text_demo
from keras_transfer.text.presets import PresetNotFoundError
from keras_transfer.text.saved_model import load_saved_model

__all__ = ["PresetNotFoundError", "load_saved_model", "run_text_demo"]
