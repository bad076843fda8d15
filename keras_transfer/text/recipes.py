"""The `"text"` strategy: a pretrained keras-hub encoder and a new head, on raw strings."""

from keras_transfer import _checks
from keras_transfer.peft import _by_name as peft_by_name
from keras_transfer.strategies.registry import register_strategy
from keras_transfer.strategies.strategy import Strategy
from keras_transfer.text.build_text_classifier import build_text_classifier
from keras_transfer.text.text_classifier import TextClassifier


def text(context, *, freeze=False, pooling="mean", sequence_length=None, lora_rank=None, peft=None):
    """A keras-hub text encoder + new head on raw strings (`build_text_classifier`), or a PEFT method on it."""
    if context.weights not in ("imagenet", "pretrained", None):
        raise _checks.invalid("weights", '"pretrained" (or the default "imagenet"): the preset\'s weights, or None', context.weights)
    if peft is not None:
        _checks.check_choice("peft", peft, tuple(peft_by_name.METHODS))
    model = build_text_classifier(
        context.backbone, context.num_classes, weights=None if context.weights is None else "pretrained",
        freeze=True if peft else freeze, pooling=pooling, sequence_length=sequence_length,
        lora_rank=None if peft else lora_rank,
    )
    optimizer = context.optimizer()
    if peft is not None:  # the encoder frozen, the method's variables on it (lora_rank: the rank, default 8)
        model = peft_by_name.adapt(model, peft, rank=lora_rank or 8)
        optimizer = peft_by_name.optimizer_for(peft, optimizer)
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=context.jit_compile)
    x, y = context.data
    history = model.fit(x, y, **context.fit_kwargs())
    return model, history, {}


register_strategy(Strategy(
    "text", text, inputs="texts", learning_rate=5e-4,
    paper='Devlin et al., "BERT", NAACL 2019; Reimers & Gurevych, "Sentence-BERT", EMNLP 2019',
    when="Short texts with few labels: a pretrained keras-hub encoder (backbone = preset) and a new head, raw strings in.",
    options={"freeze": False, "pooling": "mean", "sequence_length": None, "lora_rank": None, "peft": None},
    page="text_transfer.md",
    builds=(TextClassifier,),
))
