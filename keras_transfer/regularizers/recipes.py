"""The `"l2sp"` strategy: every layer fine-tuned, pulled toward its pretrained values."""

from keras_transfer.regularizers.l2sp import L2SP
from keras_transfer.regularizers.l2sp_model import L2SPModel
from keras_transfer.regularizers.l2sp_model import apply_l2sp
from keras_transfer.strategies.registry import register_strategy
from keras_transfer.strategies.strategy import Strategy


def l2sp(context, *, alpha=0.1, beta=0.01):
    """All layers train, pulled toward the pretrained weights (`apply_l2sp`)."""
    model = context.classifier(freeze=False)
    wrapped = context.compile(apply_l2sp(model, alpha=alpha, beta=beta), loss="sparse_categorical_crossentropy")
    x, y = context.data
    history = wrapped.fit(x, y, **context.fit_kwargs())
    return model, history, {"l2sp_model": wrapped}


register_strategy(Strategy(
    "l2sp", l2sp,
    paper='Li, Grandvalet & Davoine, "Explicit Inductive Bias for Transfer Learning with CNNs", ICML 2018',
    when="Fine-tuning every layer on a small target set: keep the weights near their pretrained values.",
    options={"alpha": 0.1, "beta": 0.01}, page="l2sp.md", builds=(L2SPModel, L2SP),
))
