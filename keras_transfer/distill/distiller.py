"""`Distiller`: knowledge distillation from a teacher, also across label spaces."""

import keras
import tensorflow as tf
from keras import ops

from keras_transfer.models import _inputs
from keras_transfer import _checks
from keras_transfer.models import _outputs
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.models.transfer_model import TransferModel
from keras_transfer.feature_extraction.transfer_classifier import _head_dtype
from keras_transfer.distill import objectives
from keras_transfer.distill.inputs import TeacherStudentInputs, check_text_pair
from keras_transfer.text import inputs as text_inputs
from keras_transfer.data import checks

LABEL_SPACES = ("shared", "auxiliary")


def _feature_tensor(student, feature_layer):
    if feature_layer is None:
        last = student.layers[-1]
        try:
            return last.input
        except (AttributeError, ValueError):
            raise ValueError(
                "Invalid value received for argument `student`: cannot read the input of its last "
                f"layer {last.name!r}. Pass `feature_layer=` (the name of the layer whose output "
                "feeds the auxiliary head)."
            )
    if not isinstance(feature_layer, str):
        raise _checks.invalid("feature_layer", "None or a layer name", feature_layer, error=TypeError)
    names = [layer.name for layer in student.layers]
    if feature_layer not in names:
        raise _checks.invalid(
            "feature_layer", "the name of a layer of `student`", feature_layer, _checks.suggest(feature_layer, names)
        )
    return student.get_layer(feature_layer).output


@keras_transfer_export("keras_transfer.distill.Distiller")
class Distiller(TransferModel, TeacherStudentInputs, keras.Model):
    """Knowledge distillation: train `student` on labels and on `teacher`'s soft outputs.

    The loss is `(1 - alpha) * L(y, student(x)) + alpha * T^2 *
    KL(softmax(t / T) || softmax(s / T))`, with `L` the compiled loss (sparse
    cross-entropy by default), `t` the teacher's logits (log-probabilities
    for a softmax teacher), `s` the student-side logits and `T` the
    `temperature` (Hinton et al.).

    `label_space` says how the two label spaces relate (it has no default,
    because equal class counts do not mean equal classes):

    - `"shared"`: teacher and student predict the same classes; `s` are the
      student's own logits (classic distillation).
    - `"auxiliary"`: the label spaces differ (e.g. source classes 0-4,
      target classes 5-9). An auxiliary `Dense(teacher classes)` head on the
      student's penultimate features (the input of its last layer, or
      `feature_layer`) gives `s`; the teacher's knowledge reaches the shared
      features through it, while the student's own head learns the target
      labels. The auxiliary head lives in the distiller only: `student`
      (and `predict`) keep their architecture.

    The teacher runs in inference mode and never trains. It gets the
    student's inputs, adapted to its own input shape (size, channels) when
    they differ. `predict`, `evaluate` and `validation_data` use the student
    (`val_loss` is the compiled loss alone); the logs add
    `distillation_loss`.

    Unlabelled inputs (a transfer set): with `alpha=1.0`, `fit(x)` without
    labels (or a dataset yielding inputs only) trains on the teacher's soft
    outputs alone; the logs are then `loss` and `distillation_loss`. With
    `label_space="auxiliary"` that trains the features and the auxiliary
    head; the student's own head needs labels.

    Text: when teacher and student are text models (a
    `keras_transfer.models.TextClassifier`, or a keras-hub task such as
    `BertTextClassifier`, each with its own `preprocessor`), `fit`,
    `evaluate` and `predict` take raw strings. The `tf.data` pipeline
    tokenizes each text once per distinct tokenizer (teacher and student may
    use different vocabularies or sequence lengths) and the compiled step
    sees `{"student": tokens, "teacher": tokens}` (`"teacher"` is left out
    when both tokenize alike), so `jit_compile=True` works.

    Args:
        student: functional Keras classifier (softmax or logits, read from
            its last layer). Trained in place.
        teacher: Keras classifier (softmax or logits, read from its last
            layer or one probe call).
        label_space: `"shared"` or `"auxiliary"` (see above).
        temperature: float > 0. Defaults to `4.0`.
        alpha: float in [0, 1], weight of the distillation term. Defaults to
            `0.5`.
        feature_layer: name of the student layer whose output feeds the
            auxiliary head. Defaults to the input of the last layer.
        teacher_value_range: `(low, high)` the teacher expects, when it
            differs from `value_range`. Image models only.
        value_range: `(low, high)` of the student's inputs. Defaults to
            `(0, 255)`. Image models only.
        distillation_loss: `None` (the tempered KL above) or a Keras
            `keras.distillation.DistillationLoss` in its place (`temperature`
            then applies to the built-in term only). A `LogitsDistillation`
            gets the teacher's and the student-side log-probabilities (their
            logits, normalised); a `FeatureDistillation` gets the outputs of
            its named layers (equal shapes; no auxiliary head is built, so it
            also works across label spaces). `sample_weight` then weighs the
            labels' term only.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> def net(classes):
    ...     return keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
    ...                              keras.layers.Dense(classes, activation="softmax")])
    >>> teacher, student = net(5), net(3)
    >>> distiller = keras_transfer.distill.Distiller(student, teacher, label_space="auxiliary")
    >>> distiller.compile(optimizer="adam", metrics=["accuracy"])
    >>> x, y = np.random.default_rng(0).normal(size=(8, 4)).astype("float32"), np.arange(8) % 3
    >>> history = distiller.fit(x, y, epochs=1, verbose=0)
    >>> sorted(history.history)
    ['accuracy', 'distillation_loss', 'loss']
    >>> distiller.predict(x, verbose=0).shape
    (8, 3)

    Reference:
        Hinton, Vinyals & Dean, "Distilling the Knowledge in a Neural
        Network", 2015. Yamaguchi et al., "Transfer Learning with Pre-trained
        Conditional Generative Models", Machine Learning 2025, use it as the
        baseline for disjoint label spaces.
    """

    _trained_attributes = ("student", "auxiliary_head")
    _auto_loss = True
    _nested_config = ("student", "teacher")
    _text = False

    def __init__(
        self,
        student,
        teacher,
        *,
        label_space,
        temperature=4.0,
        alpha=0.5,
        feature_layer=None,
        teacher_value_range=None,
        value_range=(0, 255),
        distillation_loss=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(student, keras.Model):
            raise _checks.invalid("student", "a Keras model", student, error=TypeError)
        if not isinstance(teacher, keras.layers.Layer):
            raise _checks.invalid("teacher", "a Keras model", teacher, error=TypeError)
        self.label_space = _checks.check_choice("label_space", label_space, LABEL_SPACES)
        self.temperature = _checks.check_float("temperature", temperature, minimum=0.0, exclusive_minimum=True)
        self.alpha = _checks.check_float("alpha", alpha, minimum=0.0, maximum=1.0)
        self.distillation_loss = objectives.check_distillation_loss(distillation_loss)
        self.value_range = _inputs.check_value_range("value_range", value_range)
        self.teacher_value_range = (
            None if teacher_value_range is None else _inputs.check_value_range("teacher_value_range", teacher_value_range)
        )
        self._text = check_text_pair(student, teacher, teacher_value_range)
        self._shared_tokens_known = None  # read when first needed: a loading model has no vocabulary yet
        student_shape = teacher_shape = None
        if not self._text:
            student_shape = _inputs.model_input_shape(student, "student")
            teacher_shape = _inputs.model_input_shape(teacher, "teacher")
            _inputs.check_adaptable(
                student_shape, teacher_shape, argument="teacher",
                what_from="student inputs", what_to="the teacher input",
            )
        teacher_range = self.teacher_value_range or self.value_range
        self._teacher_from_logits = _outputs.detect_from_logits("teacher", teacher, teacher_shape, teacher_range)
        self._loss_from_logits = _outputs.detect_from_logits("student", student, student_shape, self.value_range)
        teacher_classes = int(teacher.output_shape[-1])
        student_classes = int(student.output_shape[-1])
        self.auxiliary_head = None
        self._student_view = None
        self._teacher_view = None
        inputs = student.input if self._text else student.inputs  # text: the token dict
        if self.label_space == "shared":
            if feature_layer is not None:
                raise _checks.invalid(
                    "feature_layer", 'None with label_space="shared" (no auxiliary head)', feature_layer
                )
            if teacher_classes != student_classes:
                raise ValueError(
                    'Invalid value received for argument `label_space`: "shared" needs the same '
                    f"classes, but the teacher predicts {teacher_classes} and the student "
                    f'{student_classes}. Use label_space="auxiliary" for different label spaces.'
                )
        if objectives.is_feature_loss(self.distillation_loss):
            if feature_layer is not None:
                raise _checks.invalid(
                    "feature_layer", "None with a FeatureDistillation (it names its own layers)", feature_layer
                )
            features, teacher_features = objectives.feature_outputs(student, teacher, self.distillation_loss)
            self._student_view = keras.Model(inputs, [student.outputs[0], features], name="student_view")
            teacher_inputs = teacher.input if self._text else teacher.inputs
            self._teacher_view = keras.Model(teacher_inputs, teacher_features, name="teacher_view")
        elif self.label_space == "auxiliary":
            features = _feature_tensor(student, feature_layer)
            if len(features.shape) != 2:
                raise ValueError(
                    "Invalid value received for argument `feature_layer`: the auxiliary head needs "
                    f"flat features (batch, units); the chosen tensor has shape {tuple(features.shape)}."
                )
            self._student_view = keras.Model(inputs, [student.outputs[0], features], name="student_view")
            self.auxiliary_head = keras.layers.Dense(teacher_classes, name="auxiliary_head", dtype=_head_dtype())
            self.auxiliary_head.build(tuple(features.shape))
        self.student = student
        self.teacher = teacher
        self.feature_layer = feature_layer
        self._student_shape = student_shape
        self._teacher_shape = teacher_shape
        self.distillation_loss_tracker = keras.metrics.Mean(name="distillation_loss")
        self.built = True

    def call(self, inputs, training=False):
        return self.student(self._student_inputs(inputs), training=training)

    def teacher_probabilities(self, inputs):
        """The teacher's softened float32 probabilities `softmax(t / T)` for student inputs.

        Text distillers also take raw strings.
        """
        outputs = self.teacher(self._teacher_inputs(inputs), training=False)
        return ops.stop_gradient(_outputs.probabilities(outputs, self._teacher_from_logits, self.temperature))

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if y is None and self.alpha != 1.0:
            raise _unlabelled_error(self.alpha)
        teacher_values = self._teacher_values(x)
        student_x = self._student_inputs(x)
        with tf.GradientTape() as tape:
            if self._student_view is None:
                y_pred = self.student(student_x, training=True)
                student_values = _outputs.log_probabilities(y_pred, self._loss_from_logits)
            else:
                y_pred, student_values = self._student_view(student_x, training=True)
                if self.auxiliary_head is not None:
                    student_values = ops.cast(self.auxiliary_head(student_values), "float32")
            if self.distillation_loss is None:
                distillation = objectives.tempered_kl(teacher_values, student_values, self.temperature, sample_weight)
            else:
                distillation = objectives.keras_term(self.distillation_loss, teacher_values, student_values)
            loss = self._replica_loss(self.alpha * distillation)
            if y is not None:
                supervised = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
                loss = loss + (1.0 - self.alpha) * supervised
            self._track_loss(loss, ops.shape(y_pred)[0])
            scaled = self.optimizer.scale_loss(loss)
        self._apply_gradients(tape, scaled, self.trainable_variables)
        self.distillation_loss_tracker.update_state(distillation)
        if y is None:  # no labels for the compiled metrics
            return {"loss": self._loss_tracker.result(), "distillation_loss": self.distillation_loss_tracker.result()}
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def _teacher_values(self, x):
        """What the distillation term reads from the teacher: softened probabilities, logits or features."""
        if self.distillation_loss is None:
            return self.teacher_probabilities(x)
        if self._teacher_view is not None:
            return self._teacher_view(self._teacher_inputs(x), training=False)
        outputs = self.teacher(self._teacher_inputs(x), training=False)
        return _outputs.log_probabilities(outputs, self._teacher_from_logits)

    def fit(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.fit`; in-memory inputs and labels are checked against `student` first."""
        checks.check_dataset_not_empty("x", x)
        kind = checks.label_kind(self)
        if y is None and x is not None and not isinstance(x, tf.data.Dataset) and self.alpha != 1.0:
            raise _unlabelled_error(self.alpha)
        if self._text:
            count = len(x) if text_inputs.is_text(x) else None
            checks.check_labels_of(self.student, y, kind=kind, count=count)
            validation = kwargs.get("validation_data")
            if isinstance(validation, (tuple, list)) and len(validation) in (2, 3):
                checks.check_labels_of(self.student, validation[1], name="validation_data[1]", kind=kind)
        else:
            checks.check_training_arrays(self.student, x, y, kind=kind)
            checks.check_validation_data(self.student, kwargs.get("validation_data"), kind=kind)
        return super().fit(x, y, *args, **kwargs)

    def get_metrics_result(self):
        compiled = getattr(self, "_compile_metrics", None)
        if compiled is None or compiled.built:
            return super().get_metrics_result()
        # Unlabelled fits (a transfer set) never build the compiled metrics: the losses only.
        return {m.name: float(ops.convert_to_numpy(m.result())) for m in self.metrics if m is not compiled}

    def test_step(self, data):
        logs = super().test_step(data)
        return {name: value for name, value in logs.items() if name != "distillation_loss"}

    def get_config(self):
        config = super().get_config()
        config.update({
            "student": keras.saving.serialize_keras_object(self.student),
            "teacher": keras.saving.serialize_keras_object(self.teacher),
            "label_space": self.label_space,
            "temperature": self.temperature,
            "alpha": self.alpha,
            "feature_layer": self.feature_layer,
            "teacher_value_range": self.teacher_value_range,
            "value_range": self.value_range,
            "distillation_loss": (
                None if self.distillation_loss is None else keras.saving.serialize_keras_object(self.distillation_loss)
            ),
        })
        return config


def _unlabelled_error(alpha):
    return ValueError(
        f"Invalid value received for argument `y`: labels are needed with alpha={alpha} (the labels' term "
        f"weighs {1.0 - alpha:g}). Received: y=None. Pass labels, or build the distiller with alpha=1.0 to "
        "distil on unlabelled inputs (a transfer set)."
    )
