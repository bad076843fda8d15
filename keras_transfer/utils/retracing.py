"""Silencing TensorFlow's retracing warning where the retrace is deliberate.

TensorFlow warns ("N out of the last M calls to <function ...> triggered
tf.function retracing") when many `tf.function`s are made from one Python
function. Keras makes a new one for each train/test/predict function, so a
freezing schedule (a new train step per stage, on purpose) or a command that
trains several models in a row trips it without anything being wrong. The
filter drops that warning for Keras's own step functions only; retracing of
the user's functions is still reported.
"""

import contextlib
import logging

_KERAS_STEPS = ("multi_step_on_iterator", "one_step_on_data", "one_step_on_iterator", "multi_step_on_data")


class KerasStepRetracingFilter(logging.Filter):
    """A `logging.Filter` that drops TensorFlow's retracing warning for Keras's step functions."""

    def filter(self, record):
        message = record.getMessage()
        return not ("triggered tf.function retracing" in message and any(name in message for name in _KERAS_STEPS))


_FILTER = KerasStepRetracingFilter()
_depth = 0


def quiet():
    """Installs the filter on the `tensorflow` logger (nested calls count); undo with `loud()`."""
    global _depth
    if _depth == 0:
        logging.getLogger("tensorflow").addFilter(_FILTER)
    _depth += 1


def loud():
    global _depth
    _depth = max(0, _depth - 1)
    if _depth == 0:
        logging.getLogger("tensorflow").removeFilter(_FILTER)


@contextlib.contextmanager
def deliberate_retracing():
    """Within the block, Keras's step functions retrace without TensorFlow's warning."""
    quiet()
    try:
        yield
    finally:
        loud()
