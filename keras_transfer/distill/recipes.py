"""The `"distill"` strategy: a student trained on labels and a teacher's soft outputs."""

from keras_transfer import _checks
from keras_transfer.distill.distiller import Distiller
from keras_transfer.strategies.registry import register_strategy
from keras_transfer.strategies.strategy import Strategy


def distill(context, *, teacher=None, label_space=None, temperature=4.0, alpha=0.5, teacher_epochs=None):
    """A student on the labelled `data`, guided by a teacher (given, or trained on `source`)."""
    context.check_model_option("teacher", teacher)
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
        teacher = context.classifier(num_classes=context.source_classes, freeze=False)
        details["teacher_history"] = context.fit_on_source(teacher, teacher_epochs or context.epochs)
    distiller = Distiller(student, teacher, label_space=label_space, temperature=temperature, alpha=alpha)
    context.compile(distiller)
    x, y = context.data
    history = distiller.fit(x, y, **context.fit_kwargs())
    details.update(teacher=teacher, distiller=distiller)
    return student, history, details


register_strategy(Strategy(
    "distill", distill, accepts=("data", "source"),
    paper='Hinton, Vinyals & Dean, "Distilling the Knowledge in a Neural Network", 2015',
    when="A teacher model (or source data to train one) and a different student architecture to train.",
    options={"teacher": None, "label_space": None, "temperature": 4.0, "alpha": 0.5, "teacher_epochs": None},
    page="distillation.md", builds=(Distiller,),
))
