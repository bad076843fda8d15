import math

import numpy as np
import pytest

import keras
import keras_transfer as kt
from tests.test_case import TestCase

RNG = np.random.default_rng(0)
X_S = RNG.normal(size=(24, 4)).astype("float32")
Y_S = RNG.integers(0, 2, 24)
X_T = RNG.normal(1.0, 1.0, size=(24, 4)).astype("float32")


def make_model():
    features = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="relu")])
    classifier = keras.Sequential([keras.Input((6,)), keras.layers.Dense(2, activation="softmax")])
    model = kt.models.DomainAdaptationModel(features, classifier, kt.layers.DomainAdversarialHead((4,), dropout=0.5))
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def batches():
    return kt.data.domain_adaptation_dataset(source=(X_S, Y_S), target=X_T, batch_size=8, seed=0)  # 3 steps


class Recorder(keras.callbacks.Callback):
    """The lambda each train step runs with (read after the schedule's update)."""

    def __init__(self, fail_at_epoch=None):
        super().__init__()
        self.values, self.fail_at_epoch = [], fail_at_epoch

    def on_train_batch_begin(self, batch, logs=None):
        self.values.append(float(self.model.alignment.gradient_reversal.lambda_var.numpy()))

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.fail_at_epoch:
            raise RuntimeError("interrupted")


class TestGradientReversalSchedule(TestCase):
    def test_values(self):
        dann = kt.callbacks.GradientReversalSchedule("dann", max_value=0.5, gamma=10.0, total_steps=40)
        for step in (0, 1, 13, 40, 80):
            p = min(step / 40, 1.0)
            assert dann.value_at(step) == pytest.approx(0.5 * (2 / (1 + math.exp(-10 * p)) - 1))
        linear = kt.callbacks.GradientReversalSchedule("linear", max_value=2.0, total_steps=10)
        assert [linear.value_at(s) for s in (0, 5, 10, 20)] == [0.0, 1.0, 2.0, 2.0]
        assert kt.callbacks.GradientReversalSchedule("constant", max_value=0.3).value_at(123) == 0.3

    def test_updates_the_layers_during_fit_and_logs(self):
        model = make_model()
        schedule = kt.callbacks.GradientReversalSchedule("linear", max_value=1.0)
        recorder = Recorder()
        history = model.fit(batches(), epochs=2, callbacks=[schedule, recorder], verbose=0).history
        assert recorder.values == pytest.approx([s / 6 for s in range(6)])
        assert history["gradient_reversal_lambda"] == pytest.approx([2 / 6, 5 / 6])

    def test_writes_lambda_only_when_it_changes(self):
        # One TensorFlow assign per new value: a constant schedule writes once per fit, a ramp once per step.
        from keras_transfer.domain_adaptation import gradient_reversal_schedule as module

        writes = []
        original = module._assign
        module._assign = lambda variable, value: (writes.append(value), original(variable, value))
        try:
            for schedule, expected in (("constant", [0.7]), ("linear", [s * 0.7 / 6 for s in range(6)])):
                writes.clear()
                model, recorder = make_model(), Recorder()
                callback = kt.callbacks.GradientReversalSchedule(schedule, max_value=0.7)
                model.fit(batches(), epochs=2, verbose=0, callbacks=[callback, recorder])
                assert writes == pytest.approx(expected)
                assert recorder.values == pytest.approx([callback.value_at(s, 6) for s in range(6)])
        finally:
            module._assign = original

    def test_steps_per_execution(self):
        model = make_model()
        model.compile("adam", "sparse_categorical_crossentropy", steps_per_execution=3)
        recorder = Recorder()
        model.fit(batches(), epochs=2, verbose=0, callbacks=[kt.callbacks.GradientReversalSchedule("linear"), recorder])
        assert recorder.values == pytest.approx([0.0, 3 / 6])  # one update per execution of 3 steps
        assert int(model.optimizer.iterations.numpy()) == 6

    def test_backup_and_restore_resume_continues_the_ramp(self):
        total = 4 * 3
        reference = Recorder()
        make_model().fit(batches(), epochs=4, verbose=0,
                         callbacks=[kt.callbacks.GradientReversalSchedule(total_steps=None), reference])
        backup = self.tmp_path_str("backup")
        model = make_model()
        with pytest.raises(RuntimeError, match="interrupted"):
            model.fit(batches(), epochs=4, verbose=0, callbacks=[
                keras.callbacks.BackupAndRestore(backup), kt.callbacks.GradientReversalSchedule(),
                Recorder(fail_at_epoch=2)])
        resumed_model = make_model()  # a new process would rebuild the model
        resumed = Recorder()
        resumed_model.fit(batches(), epochs=4, verbose=0, callbacks=[
            keras.callbacks.BackupAndRestore(backup), kt.callbacks.GradientReversalSchedule(), resumed])
        assert len(resumed.values) == 6  # epochs 2 and 3 only
        assert resumed.values == pytest.approx(reference.values[6:])
        assert reference.values[-1] == pytest.approx(2 / (1 + math.exp(-10 * 11 / total)) - 1)

    def test_bad_arguments_and_no_gradient_reversal_layer(self):
        with pytest.raises(ValueError, match=r"`schedule`.*Did you mean 'dann'"):
            kt.callbacks.GradientReversalSchedule("dan")
        with pytest.raises(ValueError, match=r"`max_value`.*Received: max_value=-1"):
            kt.callbacks.GradientReversalSchedule(max_value=-1)
        with pytest.raises(ValueError, match=r"`gamma`"):
            kt.callbacks.GradientReversalSchedule(gamma=0)
        model = kt.models.DomainAdaptationModel(
            keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)]),
            keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")]),
            kt.losses.MMD(),
        )
        model.compile("adam", "sparse_categorical_crossentropy")
        with pytest.raises(ValueError, match="no keras_transfer.layers.GradientReversal layer"):
            model.fit(batches(), epochs=1, verbose=0, callbacks=[kt.callbacks.GradientReversalSchedule()])
