"""Two worker processes on 127.0.0.1 train with `MultiWorkerMirroredStrategy`.

Each worker gets its `TF_CONFIG` (the same two-worker cluster, its own task
index), trains a FreezeSchedule + DiscriminativeLR schedule on a
`build_classifier` model and a DANN `DomainAdaptationModel`, and saves its
final weights; both workers must end with the same weights (gradients are
all-reduced across the workers, each reads its own shard of the data). The
processes run under a timeout and are killed if anything fails.
"""

import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

WORKER = r"""
import json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf
import keras
import numpy as np
import keras_transfer as kt
from tests.test_case import tiny_classifier, tiny_data

out = sys.argv[1]
keras.config.disable_traceback_filtering()
strategy = tf.distribute.MultiWorkerMirroredStrategy()
assert strategy.num_replicas_in_sync == 2, strategy.num_replicas_in_sync
result = {"replicas": strategy.num_replicas_in_sync}

# 1. A freeze/LR schedule: head first, then every group with discriminative rates.
keras.utils.set_random_seed(11)
x, y = tiny_data(n=32)
with strategy.scope():
    model = tiny_classifier()
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", jit_compile=False)
before = [v.numpy() for v in model.weights]
history = model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0,
                    callbacks=[kt.callbacks.FreezeSchedule({1: ["block3_conv"], 2: "all"}),
                               kt.callbacks.DiscriminativeLR(decay=0.5)])
result["freeze_stage"] = history.history["freeze_stage"]
result["group_optimizer"] = isinstance(model.optimizer, kt.optimizers.GroupOptimizer)
result["classifier_moved"] = max(float(np.abs(a - v.numpy()).max()) for a, v in zip(before, model.weights))
classifier_weights = [v.numpy() for v in model.weights]

# 2. DANN.
keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
xs, ys = rng.normal(size=(32, 5)).astype("float32"), rng.integers(0, 3, 32)
xt = rng.normal(1.0, 1.0, size=(32, 5)).astype("float32")
with strategy.scope():
    features = keras.Sequential([keras.Input((5,)), keras.layers.Dense(6, activation="tanh")])
    head = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3, activation="softmax")])
    dann = kt.models.DomainAdaptationModel(features, head, kt.layers.DomainAdversarialHead((4,)))
    dann.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy", jit_compile=False)
data = kt.data.domain_adaptation_dataset(source=(xs, ys), target=xt, batch_size=8, shuffle=False)
history = dann.fit(data, epochs=2, verbose=0, callbacks=[kt.callbacks.GradientReversalSchedule(total_steps=8)])
result["dann_loss"] = history.history["loss"]
result["domain_accuracy"] = history.history["domain_accuracy"]

np.savez(out + ".npz", *classifier_weights, *[v.numpy() for v in dann.weights])
with open(out + ".json", "w") as f:
    json.dump(result, f)
print("OK")
"""


def _free_ports(n):
    sockets = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _run_workers(tmp_path, timeout=420):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    processes, logs = [], []
    try:
        for index in range(2):
            env = dict(
                os.environ,
                TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
                PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
                CUDA_VISIBLE_DEVICES="",
            )
            log = open(tmp_path / f"worker{index}.log", "w+")
            logs.append(log)
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-c", WORKER, str(tmp_path / f"worker{index}")],
                    cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                )
            )
        deadline = time.monotonic() + timeout
        while any(p.poll() is None for p in processes):
            failed = [p for p in processes if p.poll() not in (None, 0)]
            if failed or time.monotonic() > deadline:
                break  # one worker died: the other would wait for it forever
            time.sleep(0.5)
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=30)
    outputs = []
    for log in logs:
        log.seek(0)
        outputs.append(log.read()[-4000:])
        log.close()
    codes = [p.returncode for p in processes]
    assert codes == [0, 0], f"exit codes {codes}\n" + "\n---\n".join(outputs)
    return outputs


@pytest.mark.large
def test_two_workers_train_freeze_schedule_and_dann_to_identical_weights(tmp_path):
    _run_workers(tmp_path)
    results = [json.loads((tmp_path / f"worker{i}.json").read_text()) for i in range(2)]
    weights = [np.load(tmp_path / f"worker{i}.npz") for i in range(2)]
    for result in results:
        assert result["replicas"] == 2
        assert result["freeze_stage"] == [0.0, 1.0, 2.0]
        assert result["group_optimizer"]
        assert result["classifier_moved"] > 1e-3
        assert np.isfinite(result["dann_loss"]).all()
    assert results[0]["dann_loss"] == pytest.approx(results[1]["dann_loss"], rel=1e-5)
    assert len(weights[0].files) == len(weights[1].files) > 10
    worst = max(float(np.abs(weights[0][k] - weights[1][k]).max()) for k in weights[0].files)
    assert worst < 1e-6, worst
