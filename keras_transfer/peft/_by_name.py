"""The PEFT methods by strategy name: the model to train and its optimizer (images and text recipes)."""

from keras_transfer import _checks
from keras_transfer.peft.lora_plus import lora_plus_optimizer
from keras_transfer.peft.methods import dora
from keras_transfer.peft.methods import ia3
from keras_transfer.peft.methods import lora
from keras_transfer.peft.methods import rslora

METHODS = {"lora": lora, "rslora": rslora, "dora": dora, "lora_plus": lora, "ia3": ia3}


def adapt(model, name, *, rank=8, alpha=None, targets=None, argument="peft"):
    """`model` adapted with the method `name` (LoRA+ is LoRA: its difference is the optimizer)."""
    _checks.check_choice(argument, name, tuple(METHODS))
    if name == "ia3":
        return ia3(model, targets=targets)
    return METHODS[name](model, rank=rank, alpha=alpha, targets=targets)


def optimizer_for(name, optimizer, ratio=16.0):
    """The optimizer of method `name`: LoRA+ wraps `optimizer` (`lora_plus_optimizer`), the others keep it."""
    if name == "lora_plus":
        return lora_plus_optimizer(optimizer, _checks.check_float("ratio", ratio, minimum=0.0, exclusive_minimum=True))
    return optimizer
