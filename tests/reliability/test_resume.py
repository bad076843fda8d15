"""Resuming an interrupted run with `keras.callbacks.BackupAndRestore`.

With deterministic ops (`keras_transfer.utils.enable_determinism`), a run
interrupted mid-schedule and resumed ends with the weights of an uninterrupted
run: the schedule stage (FreezeSchedule/DiscriminativeLR), the DANN lambda
(GradientReversalSchedule) and the FixMatch random streams (augmentation
seed states, saved with the model) are restored. What stays outside: the
seed state of Keras's own random layers (Dropout, keras.layers.Random*), and the
position of a reshuffling `tf.data` pipeline (a resumed run restarts at the
first epoch's order), hence `shuffle=False` here.
"""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import keras
import keras_transfer as kt
from tests.generative import tiny
from tests.test_case import tiny_classifier, tiny_data

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Crash(keras.callbacks.Callback):
    """Raises at the start of epoch `at` (after the previous epoch's backup)."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise RuntimeError("simulated crash")


def weights(model):
    return [v.numpy() for v in model.weights]


def assert_same_weights(a, b):
    assert len(a.weights) == len(b.weights)
    for x, y in zip(a.weights, b.weights):
        np.testing.assert_array_equal(x.numpy(), y.numpy(), err_msg=x.path)


def interrupted_then_resumed(run, backup, crash_at):
    """`run(callbacks)` crashed at epoch `crash_at`, then run again: returns the resumed model."""
    with pytest.raises(RuntimeError, match="simulated crash"):
        run([keras.callbacks.BackupAndRestore(backup), Crash(crash_at)])
    assert os.path.exists(os.path.join(backup, "training_metadata.json"))
    return run([keras.callbacks.BackupAndRestore(backup)])


# --- DANN with a GradientReversalSchedule ramp --------------------------------
RNG = np.random.default_rng(0)
X_S = RNG.normal(size=(24, 4)).astype("float32")
Y_S = RNG.integers(0, 2, 24)
X_T = RNG.normal(1.0, 1.0, size=(24, 4)).astype("float32")


class LambdaLog(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.values = []

    def on_train_batch_begin(self, batch, logs=None):
        self.values.append(float(self.model.alignment.gradient_reversal.lambda_var.numpy()))


def dann_run(callbacks, epochs=4):
    kt.utils.enable_determinism(3)  # a new process: same seeds, same initial weights
    features = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="relu")])
    classifier = keras.Sequential([keras.Input((6,)), keras.layers.Dense(2, activation="softmax")])
    model = kt.models.DomainAdaptationModel(features, classifier, kt.layers.DomainAdversarialHead((5,)))
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    data = kt.data.domain_adaptation_dataset(source=(X_S, Y_S), target=X_T, batch_size=8, shuffle=False)
    log = LambdaLog()
    model.fit(data, epochs=epochs, verbose=0, callbacks=[*callbacks, kt.callbacks.GradientReversalSchedule("dann"), log])
    model.lambda_log = log.values
    return model


def test_dann_lambda_ramp_resumes_to_the_same_weights(tmp_path):
    reference = dann_run([])
    resumed = interrupted_then_resumed(dann_run, str(tmp_path / "backup"), crash_at=2)
    assert_same_weights(reference, resumed)
    assert resumed.lambda_log == pytest.approx(reference.lambda_log[6:])  # epochs 2 and 3, 3 steps each
    last = float(resumed.alignment.gradient_reversal.lambda_var.numpy())
    total = 4 * 3
    assert last == pytest.approx(2 / (1 + np.exp(-10 * 11 / total)) - 1, rel=1e-6)
    assert int(resumed.optimizer.iterations.numpy()) == total


# --- FixMatch on real unlabelled images ---------------------------------------
def fixmatch_run(callbacks, epochs=3):
    kt.utils.enable_determinism(5)
    model = kt.ssl.FixMatch(tiny.classifier(2), threshold=0.5, unlabeled_ratio=1, seed=11)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    x_l, y_l = tiny.images(8, seed=1), np.arange(8) % 2
    x_u = tiny.images(8, seed=2)  # real (not generated) unlabelled images
    model.fit((x_l, x_u), y_l, batch_size=4, epochs=epochs, shuffle=False, verbose=0, callbacks=callbacks)
    return model


def test_fixmatch_resumes_to_the_same_weights_and_augmentation_stream(tmp_path):
    reference = fixmatch_run([])
    resumed = interrupted_then_resumed(fixmatch_run, str(tmp_path / "backup"), crash_at=2)
    assert_same_weights(reference, resumed)
    # The augmentation streams continue where the uninterrupted run's are.
    resumed_states = [g.state.numpy() for g in _seed_generators(resumed)]
    reference_states = [g.state.numpy() for g in _seed_generators(reference)]
    assert len(resumed_states) == len(reference_states) > 0
    for a, b in zip(reference_states, resumed_states):
        np.testing.assert_array_equal(a, b)


def _seed_generators(model):
    generators = []
    for layer in model._flatten_layers(include_self=True, recursive=True):
        generators.extend(getattr(layer, "_seed_generators", []) or [])
    return generators


# --- A killed process: FreezeSchedule + DiscriminativeLR ----------------------
CHILD = r"""
import json, os, sys, time
import numpy as np
import keras
import keras_transfer as kt
from tests.test_case import tiny_classifier, tiny_data

backup, out, marker = sys.argv[1], sys.argv[2], sys.argv[3]
kt.utils.enable_determinism(7)
x, y = tiny_data(n=16)
model = tiny_classifier()
model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")

class Stall(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if marker != "-" and epoch == 1:  # after the epoch-1 backup: wait to be killed
            open(marker, "w").close()
            time.sleep(600)

callbacks = [kt.callbacks.FreezeSchedule({1: ["block3_conv"], 2: "all"}), kt.callbacks.DiscriminativeLR(decay=0.5)]
if backup != "-":
    callbacks.insert(0, keras.callbacks.BackupAndRestore(backup))
history = model.fit(x, y, batch_size=8, epochs=4, shuffle=False, verbose=0, callbacks=callbacks + [Stall()])
np.savez(out, *[v.numpy() for v in model.weights])
json.dump(history.history.get("freeze_stage"), open(out + ".json", "w"))
"""


def _child(tmp_path, backup, out, marker):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.Popen([sys.executable, str(script), backup, out, marker], cwd=ROOT, env=env)


@pytest.mark.large
def test_killed_process_resumes_the_schedule_to_the_same_weights(tmp_path):
    backup, marker = str(tmp_path / "backup"), str(tmp_path / "stalled")
    child = _child(tmp_path, backup, str(tmp_path / "killed.npz"), marker)
    deadline = time.time() + 300
    while not os.path.exists(marker):
        assert child.poll() is None, "the child exited before the kill"
        assert time.time() < deadline, "no backup after 300 s"
        time.sleep(0.2)
    assert os.path.exists(os.path.join(backup, "training_metadata.json"))
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL

    resumed = _child(tmp_path, backup, str(tmp_path / "resumed.npz"), "-")
    reference = _child(tmp_path, "-", str(tmp_path / "reference.npz"), "-")
    assert resumed.wait(timeout=300) == 0 and reference.wait(timeout=300) == 0
    a, b = np.load(tmp_path / "reference.npz"), np.load(tmp_path / "resumed.npz")
    assert len(a.files) == len(b.files) > 0
    for key in a.files:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    # The resumed process ran epochs 2 and 3 only, in the schedule's last stage.
    with open(tmp_path / "resumed.npz.json") as handle:
        assert json.load(handle) == [2.0, 2.0]
    with open(tmp_path / "reference.npz.json") as handle:
        assert json.load(handle) == [0.0, 1.0, 2.0, 2.0]
