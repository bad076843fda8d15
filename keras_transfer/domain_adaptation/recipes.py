"""Domain adaptation strategies: labelled source, unlabelled target (`"dann"`, `"cdan"`, `"mmd"`, `"coral"`, `"jan"`,
`"bsp"`, `"mcc"`, `"afn"`, `"entropy"`, `"mcd"`, `"mdd"`, `"adda"`, `"wdgrl"`; those on `DomainAdaptationModel` also
take a few labelled target examples as `data`), and a few labelled target examples (`"ccsa"`)."""

from keras_transfer import _checks
from keras_transfer.domain_adaptation._adversary import default_adversary
from keras_transfer.domain_adaptation._mlp import check_hidden_units
from keras_transfer.domain_adaptation.adda import ADDA
from keras_transfer.domain_adaptation.afn import AFN
from keras_transfer.domain_adaptation.bsp import BSP
from keras_transfer.domain_adaptation.conditional_domain_adversarial_head import ConditionalDomainAdversarialHead
from keras_transfer.domain_adaptation.contrastive_semantic_alignment import ContrastiveSemanticAlignment
from keras_transfer.domain_adaptation.coral import CORAL
from keras_transfer.domain_adaptation.dataset import domain_adaptation_dataset
from keras_transfer.domain_adaptation.domain_adaptation_model import DomainAdaptationModel
from keras_transfer.domain_adaptation.domain_adversarial_head import DomainAdversarialHead
from keras_transfer.domain_adaptation.gradient_reversal_schedule import GradientReversalSchedule
from keras_transfer.domain_adaptation.jmmd import JMMD
from keras_transfer.domain_adaptation.margin_disparity_head import MarginDisparityHead
from keras_transfer.domain_adaptation.mcc import MCC
from keras_transfer.domain_adaptation.mcd_model import MCDModel
from keras_transfer.domain_adaptation.mmd import MMD
from keras_transfer.domain_adaptation.target_entropy import TargetEntropy
from keras_transfer.domain_adaptation.wdgrl import WDGRL
from keras_transfer.strategies.registry import register_strategy
from keras_transfer.strategies.strategy import Strategy


def _paired_batches(context):
    # `data`: a few labelled target examples, in every step's task loss (and CCSA's pairs), where the strategy takes them.
    return domain_adaptation_dataset(
        source=context.source, target=context.target, labelled_target=context.data, batch_size=context.batch_size,
        num_classes=context.num_classes, seed=context.seed,
    )


def _adapt(context, alignment, alignment_weight, freeze, schedule, regularizers=(), labelled_target_weight=1.0):
    classifier = context.classifier(freeze=freeze)
    model = DomainAdaptationModel(
        classifier.feature_extractor, classifier.head, alignment=alignment, alignment_weight=alignment_weight,
        regularizers=list(regularizers), labelled_target_weight=labelled_target_weight,
    )
    context.compile(model, loss="sparse_categorical_crossentropy")
    data = _paired_batches(context)
    kwargs = context.fit_kwargs(batch_size=False)
    if schedule:
        kwargs["callbacks"].append(GradientReversalSchedule())
    history = model.fit(data, **kwargs)
    # `classifier` shares every weight with `model`: a plain model to save and export.
    return classifier, history, {"adaptation_model": model}


def dann(context, *, alignment_weight=0.3, hidden_units=(256, 256), freeze=False):
    """Domain classifier behind gradient reversal, lambda ramped over training.

    `alignment_weight=0.3`: chosen on target validation accuracy over the
    parity pairs (`benchmarks/dann_defaults.py`; 0.3 beat 1 for 5 of 6
    head widths and schedules).
    """
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


def jan(context, *, alignment_weight=1.0, freeze=False):
    """Joint MMD of features and class probabilities between the domains (JAN)."""
    return _adapt(context, JMMD(), alignment_weight, freeze, False)


def _term(term, option, weight, **kwargs):
    """`term(weight=..., **kwargs)`, its weight checked under the strategy option's own name."""
    return term(weight=_checks.check_float(option, weight, minimum=0.0), **kwargs)


def bsp(context, *, alignment_weight=1.0, bsp_weight=1e-4, hidden_units=(256, 256), freeze=False):
    """DANN plus batch spectral penalization of the largest singular values of the features."""
    term = _term(BSP, "bsp_weight", bsp_weight)
    return _adapt(context, DomainAdversarialHead(hidden_units), alignment_weight, freeze, True, [term])


def mcc(context, *, mcc_weight=1.0, temperature=2.5, freeze=False):
    """Minimum class confusion on the target predictions, no alignment."""
    return _adapt(context, None, 1.0, freeze, False, [_term(MCC, "mcc_weight", mcc_weight, temperature=temperature)])


def afn(context, *, afn_weight=0.05, step=1.0, freeze=False):
    """Stepwise adaptive feature norm on both domains, no alignment."""
    return _adapt(context, None, 1.0, freeze, False, [_term(AFN, "afn_weight", afn_weight, step=step)])


def entropy(context, *, entropy_weight=0.1, freeze=False):
    """Entropy minimisation of the target predictions, no alignment."""
    return _adapt(context, None, 1.0, freeze, False, [_term(TargetEntropy, "entropy_weight", entropy_weight)])


DOMAIN = dict(requires=("source", "target"), epochs=10)
# The strategies on `DomainAdaptationModel` also take a few labelled target examples (`data`), same label space.
SEMI_SUPERVISED = dict(DOMAIN, accepts=("source", "target", "data"), shared_labels=True)
ADVERSARIAL_OPTIONS = {"alignment_weight": 1.0, "hidden_units": (256, 256), "freeze": False}
DISCREPANCY_OPTIONS = {"alignment_weight": 1.0, "freeze": False}

register_strategy(Strategy(
    "dann", dann,
    paper='Ganin et al., "Domain-Adversarial Training of Neural Networks", JMLR 2016',
    when="Labels only in a source domain, unlabelled target images: make features domain-invariant adversarially.",
    options={**ADVERSARIAL_OPTIONS, "alignment_weight": 0.3}, page="domain_adaptation.md", section="dann",
    builds=(DomainAdaptationModel, DomainAdversarialHead, GradientReversalSchedule), **SEMI_SUPERVISED,
))
register_strategy(Strategy(
    "cdan", cdan,
    paper='Long et al., "Conditional Adversarial Domain Adaptation", NeurIPS 2018',
    when="As DANN, when classes are multimodal: align features jointly with class predictions.",
    options=ADVERSARIAL_OPTIONS, page="domain_adaptation.md", section="cdan",
    builds=(DomainAdaptationModel, ConditionalDomainAdversarialHead, GradientReversalSchedule), **SEMI_SUPERVISED,
))
register_strategy(Strategy(
    "mmd", mmd,
    paper='Long et al., "Learning Transferable Features with Deep Adaptation Networks", ICML 2015',
    when="Domain shift without an adversary: minimise a kernel distance between source and target features.",
    options=DISCREPANCY_OPTIONS, page="domain_adaptation.md", section="mmd", builds=(DomainAdaptationModel, MMD),
    **SEMI_SUPERVISED,
))
register_strategy(Strategy(
    "coral", coral,
    paper='Sun & Saenko, "Deep CORAL", ECCV Workshops 2016',
    when="Domain shift in feature statistics (e.g. colour, style): match the feature covariances; cheap and stable.",
    options=DISCREPANCY_OPTIONS, page="domain_adaptation.md", section="coral", builds=(DomainAdaptationModel, CORAL),
    **SEMI_SUPERVISED,
))
register_strategy(Strategy(
    "jan", jan,
    paper='Long et al., "Deep Transfer Learning with Joint Adaptation Networks", ICML 2017',
    when="As MMD, when the shift differs by class: align features and class predictions jointly.",
    options=DISCREPANCY_OPTIONS, page="domain_adaptation.md", section="jan", builds=(DomainAdaptationModel, JMMD),
    **SEMI_SUPERVISED,
))
register_strategy(Strategy(
    "bsp", bsp,
    paper='Chen et al., "Transferability vs. Discriminability: Batch Spectral Penalization", ICML 2019',
    when="DANN whose features lose discriminability: penalise the dominant directions of the feature batches.",
    options={**ADVERSARIAL_OPTIONS, "bsp_weight": 1e-4}, page="domain_adaptation.md", section="bsp",
    builds=(DomainAdaptationModel, DomainAdversarialHead, BSP, GradientReversalSchedule), **SEMI_SUPERVISED,
))
register_strategy(Strategy(
    "mcc", mcc,
    paper='Jin et al., "Minimum Class Confusion for Versatile Domain Adaptation", ECCV 2020',
    when="Unlabelled target data, no adversary: make the target predictions confuse fewer classes.",
    options={"mcc_weight": 1.0, "temperature": 2.5, "freeze": False}, page="domain_adaptation.md", section="mcc",
    builds=(DomainAdaptationModel, MCC), **SEMI_SUPERVISED,
))
register_strategy(Strategy(
    "afn", afn,
    paper='Xu et al., "Larger Norm More Transferable: An Adaptive Feature Norm Approach", ICCV 2019',
    when="Target features of smaller norm than the source ones: enlarge the feature norms of both domains.",
    options={"afn_weight": 0.05, "step": 1.0, "freeze": False}, page="domain_adaptation.md", section="afn",
    builds=(DomainAdaptationModel, AFN), **SEMI_SUPERVISED,
))
register_strategy(Strategy(
    "entropy", entropy,
    paper='Grandvalet & Bengio, "Semi-supervised Learning by Entropy Minimization", NeurIPS 2004',
    when="Target classes well separated in the features: push decision boundaries away from the target data.",
    options={"entropy_weight": 0.1, "freeze": False}, page="domain_adaptation.md", section="entropy",
    builds=(DomainAdaptationModel, TargetEntropy), **SEMI_SUPERVISED,
))


def mcd(context, *, generator_steps=1, freeze=False):
    """Two classifiers maximise their target discrepancy, the feature extractor minimises it (MCD)."""
    classifier = context.classifier(freeze=freeze)
    model = MCDModel(classifier.feature_extractor, classifier.head, generator_steps=generator_steps)
    context.compile(model, loss="sparse_categorical_crossentropy")
    history = model.fit(_paired_batches(context), **context.fit_kwargs(batch_size=False))
    return classifier, history, {"adaptation_model": model}


def mdd(context, *, alignment_weight=0.1, margin=4.0, hidden_units=(256,), freeze=False):
    """An auxiliary classifier behind gradient reversal measures the margin disparity discrepancy (MDD)."""
    head = MarginDisparityHead(hidden_units, margin=margin)
    return _adapt(context, head, alignment_weight, freeze, True)


register_strategy(Strategy(
    "mcd", mcd,
    paper='Saito et al., "Maximum Classifier Discrepancy for Unsupervised Domain Adaptation", CVPR 2018',
    when="Align the target to the source per class, without a domain classifier: two classifiers find the target "
         "examples outside the source support, the features move them in.",
    options={"generator_steps": 1, "freeze": False}, page="domain_adaptation.md", section="mcd",
    builds=(MCDModel,), **DOMAIN,
))
register_strategy(Strategy(
    "mdd", mdd,
    paper='Zhang et al., "Bridging Theory and Algorithm for Domain Adaptation", ICML 2019',
    when="As DANN, with a bound-backed adversary: an auxiliary classifier's margin disagreement replaces the "
         "domain classifier.",
    options={"alignment_weight": 0.1, "margin": 4.0, "hidden_units": (256,), "freeze": False},
    page="domain_adaptation.md", section="mdd",
    builds=(DomainAdaptationModel, MarginDisparityHead, GradientReversalSchedule), **SEMI_SUPERVISED,
))


# === ADDA and WDGRL: the adversary trains with its own optimizer ===

def _fit_on_both_domains(context, model):
    context.compile(model, loss="sparse_categorical_crossentropy")
    return model.fit(_paired_batches(context), **context.fit_kwargs(batch_size=False))


def adda(context, *, source_epochs=None, hidden_units=(500, 500)):
    """Stage 1: a source-only fit; stage 2: a copy of its feature extractor trained against a discriminator."""
    if source_epochs is not None:
        source_epochs = _checks.check_int("source_epochs", source_epochs, minimum=1)
    classifier = context.classifier(freeze=False)
    source_history = context.fit_on_source(classifier, context.epochs if source_epochs is None else source_epochs)
    model = ADDA(classifier.feature_extractor, classifier.head,
                 discriminator=default_adversary(check_hidden_units(hidden_units), "discriminator"))
    history = _fit_on_both_domains(context, model)
    # The adapted classifier is a plain functional model; the source one stays as it was after stage 1.
    return model.inference_model, history, {"adaptation_model": model, "source_model": classifier,
                                            "source_history": source_history}


def wdgrl(context, *, alignment_weight=1.0, gradient_penalty_weight=10.0, critic_steps=5, hidden_units=(100,),
          freeze=False):
    """Features and classifier against a Wasserstein critic with a gradient penalty."""
    classifier = context.classifier(freeze=freeze)
    model = WDGRL(classifier.feature_extractor, classifier.head,
                  critic=default_adversary(check_hidden_units(hidden_units), "critic"),
                  alignment_weight=alignment_weight, gradient_penalty_weight=gradient_penalty_weight,
                  critic_steps=critic_steps, seed=context.seed)
    history = _fit_on_both_domains(context, model)
    return classifier, history, {"adaptation_model": model}


register_strategy(Strategy(
    "adda", adda,
    paper='Tzeng et al., "Adversarial Discriminative Domain Adaptation", CVPR 2017',
    when="A trained source model to keep as it is: learn a separate target feature extractor that fools a "
         "domain discriminator.",
    options={"source_epochs": None, "hidden_units": (500, 500)}, page="domain_adaptation.md", section="adda",
    builds=(ADDA,), **DOMAIN,
))
register_strategy(Strategy(
    "wdgrl", wdgrl,
    paper='Shen et al., "Wasserstein Distance Guided Representation Learning for Domain Adaptation", AAAI 2018',
    when="As DANN, with a Wasserstein critic: useful gradients even when the domains' features are far apart.",
    options={"alignment_weight": 1.0, "gradient_penalty_weight": 10.0, "critic_steps": 5, "hidden_units": (100,),
             "freeze": False},
    page="domain_adaptation.md", section="wdgrl", builds=(WDGRL,), **DOMAIN,
))


def ccsa(context, *, alignment_weight=1.0, margin=1.0, labelled_target_weight=1.0, freeze=False):
    """Contrastive semantic alignment of source and labelled target pairs (CCSA)."""
    return _adapt(context, ContrastiveSemanticAlignment(margin=margin), alignment_weight, freeze, False,
                  labelled_target_weight=labelled_target_weight)


register_strategy(Strategy(
    "ccsa", ccsa,
    paper='Motiian et al., "Unified Deep Supervised Domain Adaptation and Generalization", ICCV 2017',
    when="A few labelled target examples per class: pull same-class source/target pairs together, push others apart.",
    options={"alignment_weight": 1.0, "margin": 1.0, "labelled_target_weight": 1.0, "freeze": False},
    page="domain_adaptation.md", section="ccsa", builds=(DomainAdaptationModel, ContrastiveSemanticAlignment),
    requires=("source", "data"), shared_labels=True, epochs=10,
))
