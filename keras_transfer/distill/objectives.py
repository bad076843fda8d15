"""The distillation term: the built-in tempered KL, or a `keras.distillation.DistillationLoss`.

Keras 3.15's `keras.distillation` losses are accepted where the shapes allow:

- `LogitsDistillation` (or any `DistillationLoss` that is not a
  `FeatureDistillation`) gets the teacher's logits (log-probabilities for a
  softmax teacher, so it is never softmaxed twice) and the student-side
  logits (its own, or the auxiliary head's).
- `FeatureDistillation` gets the outputs of its `teacher_layer_name` and
  `student_layer_name` layers (the models' outputs when `None`), which must
  have the same shape.
"""

import keras
from keras import ops

from keras_transfer import _checks

_EXPECTED = "None or a `keras.distillation.DistillationLoss` (e.g. `LogitsDistillation`, `FeatureDistillation`)"


def check_distillation_loss(distillation_loss):
    """`distillation_loss` itself, once checked; `None` stands for the built-in tempered KL."""
    if isinstance(distillation_loss, dict):  # a loading model's config
        distillation_loss = keras.saving.deserialize_keras_object(distillation_loss)
    if distillation_loss is None:
        return None
    if not isinstance(distillation_loss, keras.distillation.DistillationLoss):
        raise _checks.invalid("distillation_loss", _EXPECTED, distillation_loss, error=TypeError)
    if isinstance(distillation_loss, keras.distillation.LogitsDistillation) and any(
        loss is keras.losses.kl_divergence for loss in keras.tree.flatten(distillation_loss.loss)
    ):
        # Keras softmaxes only for a `KLDivergence` instance: the function (the default,
        # loss="kl_divergence") reads the tempered logits as probabilities, and on
        # log-probabilities (all <= 0, clipped to 1e-7) the term is 0 whatever the student does.
        raise ValueError(
            "Invalid value received for argument `distillation_loss`: LogitsDistillation(loss="
            '"kl_divergence") (its default) applies the KL divergence to tempered logits without a '
            "softmax, which is 0 for any student here. Pass "
            "LogitsDistillation(temperature=T, loss=keras.losses.KLDivergence()) (Keras then softmaxes "
            "and scales by T^2), or leave distillation_loss=None for the built-in term, which is the same."
        )
    return distillation_loss


def is_feature_loss(distillation_loss):
    # `keras.distillation` is new in Keras 3.15; without it only `None` gets here.
    return distillation_loss is not None and isinstance(distillation_loss, keras.distillation.FeatureDistillation)


def feature_outputs(student, teacher, distillation_loss):
    """The student and teacher tensors a `FeatureDistillation` compares, checked for equal shapes."""
    student_features = _layer_output(student, distillation_loss.student_layer_name, "student")
    teacher_features = _layer_output(teacher, distillation_loss.teacher_layer_name, "teacher")
    student_shape, teacher_shape = tuple(student_features.shape[1:]), tuple(teacher_features.shape[1:])
    if student_shape != teacher_shape:
        raise ValueError(
            "Invalid value received for argument `distillation_loss`: FeatureDistillation compares "
            "features of the same shape, but the student layer "
            f"{distillation_loss.student_layer_name!r} gives {student_shape} and the teacher layer "
            f"{distillation_loss.teacher_layer_name!r} gives {teacher_shape}. Name layers of equal width "
            "(`student_layer_name=`, `teacher_layer_name=`), or use LogitsDistillation."
        )
    return student_features, teacher_features


def _layer_output(model, layer_name, side):
    if layer_name is None:
        return model.outputs[0]
    names = [layer.name for layer in model.layers]
    if layer_name not in names:
        raise ValueError(
            "Invalid value received for argument `distillation_loss`: its FeatureDistillation names no layer "
            f"of the {side}. Received: {side}_layer_name={layer_name!r}.{_checks.suggest(layer_name, names)}"
        )
    return model.get_layer(layer_name).output


def tempered_kl(teacher_probabilities, student_logits, temperature, sample_weight=None):
    """`T^2 * KL(teacher || softmax(student_logits / T))`, averaged over the (weighted) batch."""
    student_log_p = ops.log_softmax(student_logits / temperature, axis=-1)
    teacher_log_p = ops.log(ops.clip(teacher_probabilities, 1e-7, 1.0))
    kl = ops.sum(teacher_probabilities * (teacher_log_p - student_log_p), axis=-1)
    if sample_weight is not None:
        kl = kl * ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
    return ops.mean(kl) * temperature**2


def keras_term(distillation_loss, teacher_values, student_values):
    """A `DistillationLoss`'s term, in float32, for teacher values that carry no gradient."""
    teacher_values = ops.stop_gradient(ops.cast(teacher_values, "float32"))
    return distillation_loss.compute_loss(teacher_values, ops.cast(student_values, "float32"))
