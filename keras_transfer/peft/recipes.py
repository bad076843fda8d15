"""The PEFT strategies: `"lora"`, `"rslora"`, `"dora"`, `"lora_plus"`, `"ia3"`, `"adapters"`.

Each builds the classifier with a frozen backbone, adapts it with its method
(`keras_transfer.peft`), and trains the method's variables and the head.
Without `epochs`, small datasets get at least `MIN_STEPS` optimizer steps
and early stopping on the validation loss with the best weights restored,
as `"fine_tune"` does.
"""

import math

import keras

from keras_transfer.fine_tuning.recipes import MAX_AUTO_EPOCHS
from keras_transfer.fine_tuning.recipes import MIN_STEPS
from keras_transfer.fine_tuning.recipes import PATIENCE
from keras_transfer.peft import _by_name as by_name
from keras_transfer.peft.adapter import BottleneckAdapter
from keras_transfer.peft.adapters import add_adapters
from keras_transfer.peft.peft_conv2d import PeftConv2D
from keras_transfer.strategies.registry import register_strategy
from keras_transfer.strategies.strategy import Strategy

SPARSE = "sparse_categorical_crossentropy"


def _train(context, model, optimizer):
    """Compiles `model` with `optimizer` and fits it on `data`."""
    x, y = context.data
    kwargs = context.fit_kwargs()
    if not context.epochs_given:  # the default: enough steps for small data, stopped by validation loss
        steps = math.ceil(len(x) / context.batch_size)
        kwargs["epochs"] = max(context.epochs, min(MAX_AUTO_EPOCHS, math.ceil(MIN_STEPS / steps)))
        if context.validation_data is not None:
            kwargs["callbacks"] = [*kwargs["callbacks"], keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=PATIENCE, restore_best_weights=True)]
    model.compile(optimizer=optimizer, loss=SPARSE, metrics=["accuracy"],
                  jit_compile=context.jit_compile)
    return model.fit(x, y, **kwargs)


def _adapted(context, name, ratio=16.0, **options):
    model = by_name.adapt(context.classifier(freeze=True), name, **options)
    return model, _train(context, model, by_name.optimizer_for(name, context.optimizer(), ratio)), {}


def lora(context, *, rank=8, alpha=None, targets=None):
    """The backbone frozen; LoRA factors on its layers and the head train (`peft.lora`)."""
    return _adapted(context, "lora", rank=rank, alpha=alpha, targets=targets)


def rslora(context, *, rank=8, alpha=None, targets=None):
    """LoRA scaled by `alpha / sqrt(rank)` (`peft.rslora`)."""
    return _adapted(context, "rslora", rank=rank, alpha=alpha, targets=targets)


def dora(context, *, rank=8, alpha=None, targets=None):
    """Magnitude and LoRA direction of each kernel train (`peft.dora`)."""
    return _adapted(context, "dora", rank=rank, alpha=alpha, targets=targets)


def lora_plus(context, *, rank=8, alpha=None, targets=None, ratio=16.0):
    """LoRA whose B factors learn `ratio` times faster (`peft.lora_plus_optimizer`)."""
    return _adapted(context, "lora_plus", ratio, rank=rank, alpha=alpha, targets=targets)


def ia3(context, *, targets=None):
    """Scaling vectors on the outputs of the backbone's layers and the head train (`peft.ia3`)."""
    return _adapted(context, "ia3", targets=targets)


LOW_RANK = {"rank": 8, "alpha": None, "targets": None}
WHEN = "A large pretrained backbone and few labels or little memory"

register_strategy(Strategy(
    "lora", lora,
    paper='Hu et al., "LoRA: Low-Rank Adaptation of Large Language Models", ICLR 2022',
    when=f"{WHEN}: train low-rank updates of the frozen kernels and the head; merge them for serving.",
    options=LOW_RANK, page="peft.md", section="lora", builds=(PeftConv2D,),
))
register_strategy(Strategy(
    "rslora", rslora,
    paper='Kalajdzievski, "A Rank Stabilization Scaling Factor for Fine-Tuning with LoRA", 2023',
    when="LoRA at ranks above ~8, where the alpha / rank scale starves the update: scale by alpha / sqrt(rank).",
    options=LOW_RANK, page="peft.md", section="rslora", builds=(PeftConv2D,),
))
register_strategy(Strategy(
    "dora", dora,
    paper='Liu et al., "DoRA: Weight-Decomposed Low-Rank Adaptation", ICML 2024',
    when="LoRA that falls short of full fine-tuning: train each kernel's magnitude and LoRA direction apart.",
    options=LOW_RANK, page="peft.md", section="dora", builds=(PeftConv2D,),
))
register_strategy(Strategy(
    "lora_plus", lora_plus,
    paper='Hayou, Ghosh & Yu, "LoRA+: Efficient Low Rank Adaptation of Large Models", ICML 2024',
    when="LoRA that learns slowly: a ratio-times larger learning rate for the B factors, nothing else changed.",
    options={**LOW_RANK, "ratio": 16.0}, page="peft.md", section="lora_plus", builds=(PeftConv2D,),
))
register_strategy(Strategy(
    "ia3", ia3,
    paper='Liu et al., "Few-Shot Parameter-Efficient Fine-Tuning is Better and Cheaper than In-Context Learning" '
    "(IA3), NeurIPS 2022",
    when=f"{WHEN}, the fewest trained parameters: learn one scale per activation of the frozen backbone.",
    options={"targets": None}, page="peft.md", section="ia3", builds=(PeftConv2D,),
))


# === Adapters (Houlsby et al. 2019) ===
def adapters(context, *, reduction_factor=16, where="auto", activation="relu"):
    """Bottleneck adapters after each backbone stage (`add_adapters`); they and the head train."""
    model = add_adapters(
        context.classifier(freeze=True), reduction_factor=reduction_factor, where=where, activation=activation
    )
    return model, _train(context, model, context.optimizer()), {}


register_strategy(Strategy(
    "adapters", adapters, learning_rate=1e-2,
    paper='Houlsby et al., "Parameter-Efficient Transfer Learning for NLP", ICML 2019',
    when="A pretrained backbone kept frozen and shared between tasks: train small bottleneck layers inside it and a "
    "head (a few % of the weights); more than a head alone can learn, at a fraction of fine-tuning's memory.",
    options={"reduction_factor": 16, "where": "auto", "activation": "relu"}, page="peft.md", section="adapters",
    builds=(BottleneckAdapter,),
))
