"""Parameter-efficient fine-tuning: train a few added variables, keep the pretrained weights.

`lora`, `rslora`, `dora` and `ia3` return a new model whose target layers are
`keras_transfer.layers.PeftDense` / `PeftEinsumDense` / `PeftConv1D` /
`PeftConv2D` (frozen kernel, trainable factors or scales); LoRA+ is a LoRA
model compiled with `lora_plus_optimizer`. `merge` folds them back into plain
layers for serving (`keras_transfer.export.export_saved_model` does it by
default).

`add_adapters` inserts bottleneck adapters (Houlsby et al. 2019; the layers
`BottleneckAdapter` and `AdapterTransformerEncoder` live in
`keras_transfer.layers`); they stay in the model, as layers.
"""

from keras_transfer.peft.adapters import add_adapters
from keras_transfer.peft.lora_plus import lora_plus_optimizer
from keras_transfer.peft.merge import merge
from keras_transfer.peft.methods import dora
from keras_transfer.peft.methods import ia3
from keras_transfer.peft.methods import lora
from keras_transfer.peft.methods import rslora

__all__ = ["add_adapters", "dora", "ia3", "lora", "lora_plus_optimizer", "merge", "rslora"]
