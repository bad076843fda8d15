"""Parameter-efficient tuning: train a few added weights, keep the pretrained network frozen.

Bottleneck adapters (`add_adapters`; the layers `BottleneckAdapter` and
`AdapterTransformerEncoder` live in `keras_transfer.layers`).
"""

# === Adapters (Houlsby et al. 2019) ===
from keras_transfer.peft.adapters import add_adapters

__all__ = [
    "add_adapters",
]
