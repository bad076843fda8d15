"""A freezing schedule retraces the train step on purpose: TensorFlow's retracing warning stays out of the log."""

import logging

import numpy as np

import keras_transfer as kt
from keras_transfer.utils import retracing
from tests.test_case import tiny_classifier, tiny_data


class Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_gradual_unfreezing_logs_no_retracing_warning():
    handler = Collect()
    depth = retracing._depth  # the command line, run in-process by other tests, keeps the filter on
    logger = logging.getLogger("tensorflow")
    logger.addHandler(handler)
    try:
        x, y = tiny_data(16)
        for _ in range(3):  # several fits in a row, each retracing at every stage
            model = tiny_classifier(3)
            kt.fine_tune(model, x, y, epochs=3, freeze_epochs=1, gradual=True, batch_size=8, verbose=0)
            model.predict(x, verbose=0)
    finally:
        logger.removeHandler(handler)
    assert not [m for m in handler.messages if "retracing" in m]
    assert retracing._depth == depth  # each fit removes what it installed


def test_only_keras_step_functions_are_silenced():
    def record(text):
        return logging.LogRecord("tensorflow", logging.WARNING, __file__, 1, text, None, None)

    keras_step = "5 out of the last 7 calls to <function TensorFlowTrainer._make_function.<locals>.multi_step_on_iterator at 0x1> triggered tf.function retracing."
    user = "5 out of the last 7 calls to <function my_loss at 0x1> triggered tf.function retracing."
    assert not retracing.KerasStepRetracingFilter().filter(record(keras_step))
    assert retracing.KerasStepRetracingFilter().filter(record(user))
    assert retracing.KerasStepRetracingFilter().filter(record("something else"))
