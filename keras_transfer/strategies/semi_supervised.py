"""Recipes that learn from more than labelled target data: FixMatch, distillation, PP + P-SSL."""

import keras

from keras_transfer import _checks
from keras_transfer.distill.distiller import Distiller
from keras_transfer.generative.conditional_generator import ConditionalVAE
from keras_transfer.generative.head import replace_head
from keras_transfer.generative.pseudo_pretrainer import PseudoPretrainer
from keras_transfer.generative.pseudo_ssl_generator import PseudoSSLGenerator
from keras_transfer.ssl.dataset import ssl_dataset
from keras_transfer.ssl.fixmatch import FixMatch


def _source_classes(context):
    return int(context.source[1].max()) + 1


def _check_model(name, value):
    if value is not None and not isinstance(value, keras.Model):
        raise _checks.invalid(name, "None or a Keras model", value, error=TypeError)
    return value


def _fit_on_source(context, model, epochs):
    """Trains a source-task model on `context.source` (compiled here)."""
    context.compile(model, loss="sparse_categorical_crossentropy")
    x, y = context.source
    return model.fit(x, y, batch_size=context.batch_size, epochs=epochs, verbose=context.verbose, callbacks=list(context.callbacks))


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


def distill(context, *, teacher=None, label_space=None, temperature=4.0, alpha=0.5, teacher_epochs=None):
    """A student on the labelled `data`, guided by a teacher (given, or trained on `source`)."""
    _check_model("teacher", teacher)
    if teacher is None and context.source is None:
        raise _checks.invalid(
            "source", "labelled source data (x_s, y_s) to train the teacher on, or the option teacher=<Keras model>", None
        )
    if teacher is not None and context.source is not None:
        raise ValueError(
            "Strategy 'distill' takes either `source` (to train a teacher) or the option `teacher`, not both."
        )
    if label_space is None:
        if teacher is not None:
            raise _checks.invalid(
                "label_space", '"shared" (the teacher predicts the same classes) or "auxiliary" (other classes)', label_space,
                hint="Equal class counts do not mean equal classes, so there is no default with a given teacher.",
            )
        label_space = "auxiliary"  # a teacher of the source task: its classes are the source's
    _checks.check_choice("label_space", label_space, ("shared", "auxiliary"))
    if teacher_epochs is not None:
        teacher_epochs = _checks.check_int("teacher_epochs", teacher_epochs, minimum=1)
    _checks.check_float("temperature", temperature, minimum=0.0, exclusive_minimum=True)
    _checks.check_float("alpha", alpha, minimum=0.0, maximum=1.0)
    student = context.classifier(freeze=False)
    details = {}
    if teacher is None:  # trained before the Distiller freezes it
        teacher = context.classifier(num_classes=_source_classes(context), freeze=False)
        details["teacher_history"] = _fit_on_source(context, teacher, teacher_epochs or context.epochs)
    distiller = Distiller(student, teacher, label_space=label_space, temperature=temperature, alpha=alpha)
    context.compile(distiller)
    x, y = context.data
    history = distiller.fit(x, y, **context.fit_kwargs())
    details.update(teacher=teacher, distiller=distiller)
    return student, history, details


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
    _check_model("source_classifier", source_classifier)
    _check_model("generator", generator)
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
        generator = ConditionalVAE(context.input_shape, _source_classes(context), **options)
    if source_classifier is None:
        source_classifier = context.classifier(num_classes=_source_classes(context), freeze=False)
        details["source_classifier_history"] = _fit_on_source(context, source_classifier, source_epochs or context.epochs)
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
    details.update(source_classifier=source_classifier, generator=generator, fixmatch=learner)
    return model, history, details
