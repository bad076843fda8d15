"""The semi-supervised strategies: few labels and many unlabelled images of the same task.

`"fixmatch"`, `"pseudo_label"`, `"mean_teacher"`, `"uda"` and `"flexmatch"`
share one recipe: the learner around a new classifier, trained on
`ssl_dataset(data, target)`.
"""

from keras_transfer.ssl.dataset import ssl_dataset
from keras_transfer.ssl.fixmatch import FixMatch
from keras_transfer.ssl.flexmatch import FlexMatch
from keras_transfer.ssl.mean_teacher import MeanTeacher
from keras_transfer.ssl.pseudo_label import PseudoLabel
from keras_transfer.ssl.uda import UDA
from keras_transfer.strategies.registry import register_strategy
from keras_transfer.strategies.strategy import Strategy


def _learn(context, learner_class, key, *, unlabeled_ratio=7, freeze=False, **options):
    model = context.classifier(freeze=freeze)
    learner = learner_class(model, seed=context.seed, **options)
    context.compile(learner)
    dataset = ssl_dataset(
        context.data, context.target, batch_size=context.batch_size, unlabeled_ratio=unlabeled_ratio, seed=context.seed
    )
    history = learner.fit(dataset, **context.fit_kwargs(batch_size=False))
    details = {key: learner}
    if isinstance(learner, MeanTeacher):
        details["teacher"] = learner.teacher
    return model, history, details


def fixmatch(context, *, threshold=0.95, unlabeled_ratio=7, unlabeled_weight=1.0, freeze=False):
    """FixMatch on the labelled `data` and the unlabelled `target` images."""
    return _learn(context, FixMatch, "fixmatch", threshold=threshold, unlabeled_ratio=unlabeled_ratio,
                  unlabeled_weight=unlabeled_weight, freeze=freeze)


def _recipe(learner_class, key, doc):
    def train(context, **options):
        return _learn(context, learner_class, key, **options)

    train.__name__ = train.__qualname__ = key
    train.__doc__ = doc
    return train


_SSL = dict(requires=("data", "target"), page="semi_supervised.md")

register_strategy(Strategy(
    "fixmatch", fixmatch, **_SSL,
    paper='Sohn et al., "FixMatch", NeurIPS 2020',
    when="Few labels and many unlabelled images of the same task: pseudo-labels from confident predictions.",
    options={"threshold": 0.95, "unlabeled_ratio": 7, "unlabeled_weight": 1.0, "freeze": False},
    builds=(FixMatch,),
))
register_strategy(Strategy(
    "pseudo_label", _recipe(PseudoLabel, "pseudo_label", "PseudoLabel on `data` and the unlabelled `target`."),
    **_SSL, section="pseudo_label",
    paper='Lee, "Pseudo-Label", ICML 2013 Workshop on Challenges in Representation Learning',
    when="The cheapest semi-supervised baseline: one view, the model's own confident predictions as labels.",
    options={"threshold": 0.95, "warmup_steps": 0, "rampup_steps": 1000, "unlabeled_ratio": 7,
             "unlabeled_weight": 1.0, "freeze": False},
    builds=(PseudoLabel,),
))
register_strategy(Strategy(
    "mean_teacher", _recipe(MeanTeacher, "mean_teacher", "MeanTeacher on `data` and the unlabelled `target`."),
    **_SSL, section="mean_teacher",
    paper='Tarvainen & Valpola, "Mean teachers are better role models", NeurIPS 2017',
    when="Unlabelled images and no trust in hard pseudo-labels: consistency with a weight-averaged teacher.",
    options={"ema_decay": 0.99, "rampup_steps": 1000, "unlabeled_ratio": 7, "unlabeled_weight": 10.0,
             "freeze": False},
    builds=(MeanTeacher,),
))
register_strategy(Strategy(
    "uda", _recipe(UDA, "uda", "UDA on `data` and the unlabelled `target`."),
    **_SSL, section="uda",
    paper='Xie et al., "Unsupervised Data Augmentation for Consistency Training", NeurIPS 2020',
    when="Like FixMatch, with soft (sharpened) targets: when confident predictions are rare or classes are close.",
    options={"threshold": 0.8, "temperature": 0.4, "unlabeled_ratio": 7, "unlabeled_weight": 1.0, "freeze": False},
    builds=(UDA,),
))
register_strategy(Strategy(
    "flexmatch", _recipe(FlexMatch, "flexmatch", "FlexMatch on `data` and the unlabelled `target`."),
    **_SSL, section="flexmatch",
    paper='Zhang et al., "FlexMatch", NeurIPS 2021',
    when="Like FixMatch when some classes are learnt much later than others: a threshold per class.",
    options={"threshold": 0.95, "mapping": "convex", "warmup": True, "status_momentum": 0.99, "unlabeled_ratio": 7,
             "unlabeled_weight": 1.0, "freeze": False},
    builds=(FlexMatch,),
))
