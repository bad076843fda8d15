"""What teacher and student each read: adapted images, or texts tokenized once per tokenizer."""

from keras_transfer import _checks
from keras_transfer.models import _inputs
from keras_transfer.text import inputs as text_inputs
from keras_transfer.text import text_models


class TeacherStudentInputs(text_inputs.TextInputs):
    """Inputs of a teacher/student pair, for a model holding `student`, `teacher` and `_text`.

    Image pairs: the teacher gets the student's inputs resized, re-channelled
    and rescaled to its own input. Text pairs: raw strings are tokenized in
    the input pipeline once per distinct tokenizer, into
    `{"student": tokens, "teacher": tokens}` (`"teacher"` left out when both
    tokenize alike).
    """

    def _student_inputs(self, inputs):
        if self._text and isinstance(inputs, dict) and "student" in inputs:
            return inputs["student"]
        return inputs

    def _teacher_inputs(self, inputs):
        if not self._text:
            return _inputs.adapt(
                inputs, self._student_shape, self._teacher_shape,
                self.value_range, self.teacher_value_range or self.value_range,
            )
        if text_inputs.is_text(inputs):
            inputs = self._tokenize_inputs(inputs)
        if isinstance(inputs, dict) and "student" in inputs:
            return inputs.get("teacher", inputs["student"])
        if self._shared_tokens:
            return inputs
        raise ValueError(
            "Invalid value received for argument `inputs`: teacher and student tokenize differently, so "
            "the teacher cannot read the student's token dict. Pass raw strings (tokenized for each model in "
            "the input pipeline) or a dict {'student': tokens, 'teacher': tokens}. "
            f"Received: a dict with keys {sorted(inputs) if isinstance(inputs, dict) else type(inputs).__name__}."
        )

    @property
    def _shared_tokens(self):
        """Whether teacher and student tokenize alike (then texts are tokenized once)."""
        if self._shared_tokens_known is None:
            self._shared_tokens_known = self._text and text_models.same_tokenization(self.student, self.teacher)
        return self._shared_tokens_known

    def _takes_text(self):
        return self._text

    def _tokenize(self, texts):
        tokens = {"student": text_models.tokenize_for(self.student, texts)}
        if not self._shared_tokens:
            tokens["teacher"] = text_models.tokenize_for(self.teacher, texts)
        return tokens

    def _check_lengths(self, texts, argument):
        text_models.check_lengths_for(self.student, texts, argument)
        if not self._shared_tokens:
            text_models.check_lengths_for(self.teacher, texts, argument)


def check_text_pair(student, teacher, teacher_value_range):
    """Whether the pair is text models (both), else image/array models (neither)."""
    student_text, teacher_text = text_models.is_text_model(student), text_models.is_text_model(teacher)
    if student_text != teacher_text:
        text_side, other, model = ("student", "teacher", teacher) if student_text else ("teacher", "student", student)
        raise ValueError(
            f"Invalid value received for argument `{other}`: the {text_side} is a text model (it has a "
            f"`preprocessor` and takes token dicts), so the {other} must be one too, e.g. a "
            f"`keras_transfer.build_text_classifier(...)` model. Received: {other}={getattr(model, 'name', model)!r}."
        )
    if student_text and teacher_value_range is not None:
        raise _checks.invalid("teacher_value_range", "None for text models (it rescales images)", teacher_value_range)
    return student_text
