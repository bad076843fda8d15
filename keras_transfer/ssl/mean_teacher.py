"""`MeanTeacher`: consistency with an exponential moving average of the model (Tarvainen & Valpola, 2017)."""

import keras
from keras import ops

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.models import _outputs
from keras_transfer.ssl import _state
from keras_transfer.ssl.learner import SemiSupervisedLearner


def _average_copy(model):
    """A copy of `model` (same architecture and weights) that never trains."""
    teacher = keras.models.clone_model(model)
    teacher.set_weights(model.get_weights())
    teacher.trainable = False
    return teacher


def _floating(variables):
    return [v for v in variables if "float" in str(v.dtype)]


@keras_transfer_export("keras_transfer.ssl.MeanTeacher")
class MeanTeacher(SemiSupervisedLearner):
    """Mean Teacher: the model is pulled towards an average of its own past weights.

    The `teacher` is a copy of `model` whose weights are an exponential
    moving average of the student's (`model`'s): after every optimizer
    update, inside the train step, each teacher weight `t` becomes
    `d * t + (1 - d) * s` for the student's weight `s` (all float weights,
    BatchNorm statistics included), with `d = min(ema_decay, 1 - 1 / (k + 1))`
    at step `k` (the paper's warm-up of the average). The unlabelled loss
    is the mean squared difference between the student's class
    probabilities on one weak view of each unlabelled image and the
    teacher's (inference mode) on another weak view. Its weight ramps up
    to `unlabeled_weight` with `exp(-5 (1 - k / rampup_steps)^2)`.

    The teacher is saved with the learner (`save` / `load_model`) and is a
    plain classifier: `learner.teacher.predict(x)` is often the better model
    to keep. `learner.predict` runs the student. The logs hold
    `unlabeled_loss` and `unlabeled_weight` (the ramped weight).

    Args:
        model: Keras classifier (probabilities or logits), the student.
            Trained in place; it must be clonable (`keras.models.clone_model`).
        pseudo_generator: a `PseudoSSLGenerator` (or any Keras layer mapping
            target images to unlabelled images), or `None`. Defaults to `None`.
        weak_augmentation: `"auto"` (`WeakAugment`), `None` or a Keras layer:
            the noise of both views.
        ema_decay: float in [0, 1), the average's decay. Defaults to `0.99`.
        rampup_steps: int >= 0, steps of the sigmoid ramp-up of the
            consistency weight. Defaults to `1000`.
        unlabeled_ratio: int >= 1, pseudo samples per labelled image (P-SSL).
            Defaults to `7`.
        unlabeled_weight: float >= 0, final weight of the consistency loss.
            Defaults to `10.0`.
        from_logits: `None` reads it from `model`; or a bool.
        value_range: `(low, high)` of the images. Defaults to `(0, 255)`.
        seed: int or `None`, seed of the default augmentation.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> classifier = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Rescaling(1 / 255),
    ...     keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")])
    >>> learner = keras_transfer.ssl.MeanTeacher(classifier, ema_decay=0.9, rampup_steps=10, seed=0)
    >>> learner.compile(optimizer="adam", metrics=["accuracy"])
    >>> rng = np.random.default_rng(0)
    >>> x_l = rng.uniform(0, 255, (8, 8, 8, 1)).astype("float32")
    >>> x_u = rng.uniform(0, 255, (8, 8, 8, 1)).astype("float32")
    >>> history = learner.fit((x_l, x_u), np.arange(8) % 2, batch_size=4, epochs=1, verbose=0)
    >>> sorted(history.history)
    ['accuracy', 'loss', 'unlabeled_loss', 'unlabeled_weight']
    >>> learner.teacher.predict(x_l, verbose=0).shape
    (8, 2)

    Reference:
        Tarvainen and Valpola, "Mean teachers are better role models:
        Weight-averaged consistency targets improve semi-supervised deep
        learning results", NeurIPS 2017.
    """

    _views = ("weak",)
    _extra_metrics = ("unlabeled_loss", "unlabeled_weight")

    def __init__(
        self,
        model,
        *,
        pseudo_generator=None,
        weak_augmentation="auto",
        ema_decay=0.99,
        rampup_steps=1000,
        unlabeled_ratio=7,
        unlabeled_weight=10.0,
        from_logits=None,
        value_range=(0, 255),
        seed=None,
        **kwargs,
    ):
        ema_decay = _checks.check_float("ema_decay", ema_decay, minimum=0.0)
        if ema_decay >= 1.0:
            raise _checks.invalid("ema_decay", "a number in [0, 1)", ema_decay, hint="1 would never update the teacher.")
        rampup_steps = _checks.check_int("rampup_steps", rampup_steps, minimum=0)
        super().__init__(
            model, pseudo_generator=pseudo_generator, weak_augmentation=weak_augmentation,
            unlabeled_ratio=unlabeled_ratio, unlabeled_weight=unlabeled_weight, from_logits=from_logits,
            value_range=value_range, seed=seed, **kwargs,
        )
        self.ema_decay = ema_decay
        self.rampup_steps = rampup_steps
        self.teacher = _average_copy(model)

    def unlabeled_loss(self, outputs, images):
        """Mean squared difference of the student's and the teacher's probabilities."""
        (student,) = outputs
        teacher_view = self._augment(self.weak_augmentation, images[-1])
        teacher = self.teacher(teacher_view, training=False)
        target = ops.stop_gradient(_outputs.probabilities(teacher, self._loss_from_logits))
        return ops.mean(ops.square(_outputs.probabilities(student, self._loss_from_logits) - target)), {}

    def _weight_schedule(self):
        return _state.sigmoid_rampup(self._step_number(), self.rampup_steps)

    def _after_update(self, outputs, images):
        step = ops.cast(self.optimizer.iterations, "float32")  # after this step's update: k >= 1
        decay = ops.minimum(self.ema_decay, 1.0 - 1.0 / (step + 1.0))
        students, teachers = _floating(self.model.weights), _floating(self.teacher.weights)
        _state.assign(teachers, [decay * t + (1.0 - decay) * s for t, s in zip(teachers, students)])

    def _method_config(self):
        return {"ema_decay": self.ema_decay, "rampup_steps": self.rampup_steps}
