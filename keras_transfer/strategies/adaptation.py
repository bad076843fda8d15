"""Domain adaptation recipes: labelled source, unlabelled target (DANN, CDAN, MMD, CORAL)."""

from keras_transfer.data.domain_adaptation import domain_adaptation_dataset
from keras_transfer.domain_adaptation.conditional_domain_adversarial_head import ConditionalDomainAdversarialHead
from keras_transfer.domain_adaptation.coral import CORAL
from keras_transfer.domain_adaptation.domain_adaptation_model import DomainAdaptationModel
from keras_transfer.domain_adaptation.domain_adversarial_head import DomainAdversarialHead
from keras_transfer.domain_adaptation.gradient_reversal_schedule import GradientReversalSchedule
from keras_transfer.domain_adaptation.mmd import MMD


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
