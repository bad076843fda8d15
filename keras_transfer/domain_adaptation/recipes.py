"""Domain adaptation strategies: labelled source, unlabelled target (`"dann"`, `"cdan"`, `"mmd"`, `"coral"`)."""

from keras_transfer.domain_adaptation.conditional_domain_adversarial_head import ConditionalDomainAdversarialHead
from keras_transfer.domain_adaptation.coral import CORAL
from keras_transfer.domain_adaptation.dataset import domain_adaptation_dataset
from keras_transfer.domain_adaptation.domain_adaptation_model import DomainAdaptationModel
from keras_transfer.domain_adaptation.domain_adversarial_head import DomainAdversarialHead
from keras_transfer.domain_adaptation.gradient_reversal_schedule import GradientReversalSchedule
from keras_transfer.domain_adaptation.mmd import MMD
from keras_transfer.strategies.registry import register_strategy
from keras_transfer.strategies.strategy import Strategy


def _adapt(context, alignment, alignment_weight, freeze, schedule):
    classifier = context.classifier(freeze=freeze)
    model = DomainAdaptationModel(
        classifier.feature_extractor, classifier.head, alignment=alignment, alignment_weight=alignment_weight
    )
    context.compile(model, loss="sparse_categorical_crossentropy")
    data = domain_adaptation_dataset(
        source=context.source, target=context.target, batch_size=context.batch_size,
        num_classes=context.num_classes, seed=context.seed,
    )
    kwargs = context.fit_kwargs(batch_size=False)
    if schedule:
        kwargs["callbacks"].append(GradientReversalSchedule())
    history = model.fit(data, **kwargs)
    # `classifier` shares every weight with `model`: a plain model to save and export.
    return classifier, history, {"adaptation_model": model}


def dann(context, *, alignment_weight=1.0, hidden_units=(256, 256), freeze=False):
    """Domain classifier behind gradient reversal, lambda ramped over training."""
    return _adapt(context, DomainAdversarialHead(hidden_units), alignment_weight, freeze, True)


def cdan(context, *, alignment_weight=1.0, hidden_units=(256, 256), freeze=False):
    """Domain classifier on features x class predictions (CDAN+E)."""
    return _adapt(context, ConditionalDomainAdversarialHead(hidden_units), alignment_weight, freeze, True)


def mmd(context, *, alignment_weight=1.0, freeze=False):
    """Multi-kernel MMD between the two domains' feature batches (DAN)."""
    return _adapt(context, MMD(), alignment_weight, freeze, False)


def coral(context, *, alignment_weight=1.0, freeze=False):
    """Distance between the two domains' feature covariances (Deep CORAL)."""
    return _adapt(context, CORAL(), alignment_weight, freeze, False)


DOMAIN = dict(requires=("source", "target"), epochs=10)
ADVERSARIAL_OPTIONS = {"alignment_weight": 1.0, "hidden_units": (256, 256), "freeze": False}
DISCREPANCY_OPTIONS = {"alignment_weight": 1.0, "freeze": False}

register_strategy(Strategy(
    "dann", dann,
    paper='Ganin et al., "Domain-Adversarial Training of Neural Networks", JMLR 2016',
    when="Labels only in a source domain, unlabelled target images: make features domain-invariant adversarially.",
    options=ADVERSARIAL_OPTIONS, page="domain_adaptation.md", section="dann",
    builds=(DomainAdaptationModel, DomainAdversarialHead, GradientReversalSchedule), **DOMAIN,
))
register_strategy(Strategy(
    "cdan", cdan,
    paper='Long et al., "Conditional Adversarial Domain Adaptation", NeurIPS 2018',
    when="As DANN, when classes are multimodal: align features jointly with class predictions.",
    options=ADVERSARIAL_OPTIONS, page="domain_adaptation.md", section="cdan",
    builds=(DomainAdaptationModel, ConditionalDomainAdversarialHead, GradientReversalSchedule), **DOMAIN,
))
register_strategy(Strategy(
    "mmd", mmd,
    paper='Long et al., "Learning Transferable Features with Deep Adaptation Networks", ICML 2015',
    when="Domain shift without an adversary: minimise a kernel distance between source and target features.",
    options=DISCREPANCY_OPTIONS, page="domain_adaptation.md", section="mmd", builds=(DomainAdaptationModel, MMD), **DOMAIN,
))
register_strategy(Strategy(
    "coral", coral,
    paper='Sun & Saenko, "Deep CORAL", ECCV Workshops 2016',
    when="Domain shift in feature statistics (e.g. colour, style): match the feature covariances; cheap and stable.",
    options=DISCREPANCY_OPTIONS, page="domain_adaptation.md", section="coral", builds=(DomainAdaptationModel, CORAL), **DOMAIN,
))
