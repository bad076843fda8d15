"""The `"fixmatch"` strategy: few labels and many unlabelled images of the same task."""

from keras_transfer.ssl.dataset import ssl_dataset
from keras_transfer.ssl.fixmatch import FixMatch
from keras_transfer.strategies.registry import register_strategy
from keras_transfer.strategies.strategy import Strategy


def fixmatch(context, *, threshold=0.95, unlabeled_ratio=7, unlabeled_weight=1.0, freeze=False):
    """FixMatch on the labelled `data` and the unlabelled `target` images."""
    model = context.classifier(freeze=freeze)
    learner = FixMatch(model, threshold=threshold, unlabeled_weight=unlabeled_weight, seed=context.seed)
    context.compile(learner)
    dataset = ssl_dataset(
        context.data, context.target, batch_size=context.batch_size, unlabeled_ratio=unlabeled_ratio, seed=context.seed
    )
    history = learner.fit(dataset, **context.fit_kwargs(batch_size=False))
    return model, history, {"fixmatch": learner}


register_strategy(Strategy(
    "fixmatch", fixmatch, requires=("data", "target"),
    paper='Sohn et al., "FixMatch", NeurIPS 2020',
    when="Few labels and many unlabelled images of the same task: pseudo-labels from confident predictions.",
    options={"threshold": 0.95, "unlabeled_ratio": 7, "unlabeled_weight": 1.0, "freeze": False},
    page="semi_supervised.md", builds=(FixMatch,),
))
