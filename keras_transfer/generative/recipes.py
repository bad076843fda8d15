"""The `"pp_pssl"` strategy: pseudo pre-training, then pseudo semi-supervised learning (Yamaguchi et al.)."""

from keras_transfer import _checks
from keras_transfer.generative.conditional_generator import ConditionalVAE
from keras_transfer.generative.head import replace_head
from keras_transfer.generative.pseudo_pretrainer import PseudoPretrainer
from keras_transfer.generative.pseudo_ssl_generator import PseudoSSLGenerator
from keras_transfer.ssl.fixmatch import FixMatch
from keras_transfer.strategies.registry import register_strategy
from keras_transfer.strategies.strategy import Strategy


def pp_pssl(
    context,
    *,
    source_classifier=None,
    generator=None,
    generator_options=None,
    source_epochs=None,
    generator_epochs=None,
    pretrain_steps=100,
    pretrain_epochs=1,
    threshold=0.95,
    unlabeled_ratio=7,
):
    """Pseudo pre-training on generated source samples, then P-SSL (FixMatch on generated samples)."""
    context.check_model_option("source_classifier", source_classifier)
    context.check_model_option("generator", generator)
    if (source_classifier is None or generator is None) and context.source is None:
        raise _checks.invalid(
            "source",
            "labelled source data (x_s, y_s) to train the source classifier and generator on "
            "(or both options source_classifier= and generator=)",
            None,
        )
    if generator_options is not None and not isinstance(generator_options, dict):
        raise _checks.invalid("generator_options", "None or a dict of ConditionalVAE arguments", generator_options, error=TypeError)
    pretrain_steps = _checks.check_int("pretrain_steps", pretrain_steps, minimum=1)
    pretrain_epochs = _checks.check_int("pretrain_epochs", pretrain_epochs, minimum=1)
    for name, value in (("source_epochs", source_epochs), ("generator_epochs", generator_epochs)):
        if value is not None:
            _checks.check_int(name, value, minimum=1)

    # Check what the later constructors check, before the first training step.
    _checks.check_float("threshold", threshold, minimum=0.0, maximum=1.0)
    unlabeled_ratio = _checks.check_int("unlabeled_ratio", unlabeled_ratio, minimum=1)
    details = {}
    # The source side first: PseudoPretrainer and PseudoSSLGenerator freeze what they are given.
    train_generator = generator is None
    if train_generator:  # built first: its arguments are checked before any training
        options = {"seed": context.seed, **(generator_options or {})}
        generator = ConditionalVAE(context.input_shape, context.source_classes, **options)
    if source_classifier is None:
        source_classifier = context.classifier(num_classes=context.source_classes, freeze=False)
        details["source_classifier_history"] = context.fit_on_source(source_classifier, source_epochs or context.epochs)
    if train_generator:
        generator.compile(optimizer=context.optimizer(), jit_compile=context.jit_compile)
        x_s, y_s = context.source
        details["generator_history"] = generator.fit(
            x_s, y_s, batch_size=context.batch_size, epochs=generator_epochs or context.epochs, verbose=context.verbose
        )
    source_classes = int(source_classifier.output_shape[-1])
    network = context.classifier(num_classes=source_classes, freeze=False)  # the target architecture
    pretrainer = PseudoPretrainer(network, generator, seed=context.seed)
    model = replace_head(network, context.num_classes)  # shares the layers that pseudo pre-training trains
    pseudo = PseudoSSLGenerator(generator, source_classifier, seed=context.seed)
    learner = FixMatch(model, pseudo_generator=pseudo, threshold=threshold, unlabeled_ratio=unlabeled_ratio, seed=context.seed)
    context.compile(pretrainer)
    details["pretrain_history"] = pretrainer.fit(
        batch_size=context.batch_size, steps_per_epoch=pretrain_steps, epochs=pretrain_epochs, verbose=context.verbose
    )
    context.compile(learner)
    x, y = context.data
    history = learner.fit(x, y, **context.fit_kwargs())
    details.update(source_classifier=source_classifier, generator=generator, pretrainer=pretrainer, fixmatch=learner)
    return model, history, details


register_strategy(Strategy(
    "pp_pssl", pp_pssl, accepts=("data", "source"),
    paper='Yamaguchi et al., "Transfer Learning with Pre-trained Conditional Generative Models", MLJ 2025',
    when="No pretrained weights for the target architecture and disjoint label spaces: learn from a source generator.",
    options={
        "source_classifier": None, "generator": None, "generator_options": None, "source_epochs": None,
        "generator_epochs": None, "pretrain_steps": 100, "pretrain_epochs": 1, "threshold": 0.95, "unlabeled_ratio": 7,
    },
    page="generative_transfer.md", builds=(PseudoPretrainer, PseudoSSLGenerator, ConditionalVAE),
))
