"""Faults from outside: a full disk during export, a fit killed with SIGKILL. Nothing on disk is lost or half-written."""

import os
import resource
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from tests.test_case import tiny_backbone, tiny_classifier

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cli(*args, limit_bytes=None, **kwargs):
    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run([sys.executable, "-m", "keras_transfer_cli", *args], capture_output=True, text=True, cwd=ROOT,
                          preexec_fn=limit if limit_bytes else None, **kwargs)


def test_a_disk_that_fills_during_export_leaves_the_previous_export_loadable(tmp_path):
    model = tiny_classifier(3)
    model.save(str(tmp_path / "model.keras"))
    assert cli("export", str(tmp_path / "model.keras"), str(tmp_path / "served")).returncode == 0
    x = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    before = tf.saved_model.load(str(tmp_path / "served")).signatures["serving_default"](images=x)["probabilities"].numpy()
    full = cli("export", str(tmp_path / "model.keras"), str(tmp_path / "served"), "--overwrite", limit_bytes=20_000)
    assert full.returncode == 1
    assert full.stderr.strip().splitlines()[-1].startswith("error: OutOfRangeError: ")
    assert "File too large" in full.stderr and "Nothing was replaced" in full.stderr and "Traceback" not in full.stderr
    assert sorted(os.listdir(tmp_path)) == ["model.keras", "served"]  # no temporary folder left
    after = tf.saved_model.load(str(tmp_path / "served")).signatures["serving_default"](images=x)["probabilities"].numpy()
    np.testing.assert_array_equal(after, before)


@pytest.mark.large
def test_a_disk_that_fills_during_save_model_leaves_the_previous_file(tmp_path):
    import keras_transfer as kt

    path = str(tmp_path / "model.keras")
    kt.export.save_model(tiny_classifier(3), path)
    size = os.path.getsize(path)
    code = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({size // 2}, {size // 2}))\n"
        "import keras_transfer as kt\nfrom tests.test_case import tiny_classifier\n"
        f"kt.export.save_model(tiny_classifier(3), {path!r}, overwrite=True)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode != 0
    assert os.path.getsize(path) == size and sorted(os.listdir(tmp_path)) == ["model.keras"]
    import keras

    keras.models.load_model(path)


@pytest.mark.large
@pytest.mark.parametrize("strategy", [
    "feature_extraction", "fine_tune", "gradual", "l2sp", "dann", "cdan", "mmd", "coral", "fixmatch", "distill", "pp_pssl",
    "lp_ft", "wise_ft", "model_soup",
])
def test_a_fit_killed_midway_leaves_no_report_and_the_rerun_starts_clean(tmp_path, strategy):
    x = np.random.default_rng(0).uniform(0, 255, (64, 8, 8, 3)).astype("float32")
    target = np.random.default_rng(1).uniform(0, 255, (256, 8, 8, 3)).astype("float32")  # fixmatch wants 7 x batch
    np.savez(tmp_path / "data.npz", x_train=x, y_train=np.arange(64) % 2, x_target=target,
             x_source=target[:64], y_source=np.arange(64) % 3)  # distill and pp_pssl also read a labelled source
    tiny_backbone().save(str(tmp_path / "backbone.keras"))
    args = ["fit", str(tmp_path / "data.npz"), "--backbone", str(tmp_path / "backbone.keras"), "--preprocessing", "unit",
            "--out", str(tmp_path / "report"), "--verbose", "0", "--strategy", strategy, "--epochs", "200"]
    process = subprocess.Popen([sys.executable, "-m", "keras_transfer_cli", *args], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not any(name.startswith(".report.partial-") for name in os.listdir(tmp_path)):
        assert time.time() < deadline and process.poll() is None
        time.sleep(0.2)
    time.sleep(2)  # training
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (tmp_path / "report").exists()  # never half-written
    done = cli(*args[:-2], "--epochs", "2")
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(tmp_path / "report")) == sorted(["README.md", f"{strategy}.keras", "learning_curves.png", "results.json"])
    assert sorted(os.listdir(tmp_path)) == ["backbone.keras", "data.npz", "report"]  # the killed run's staging is gone


def test_a_keras_file_with_a_lambda_layer_is_refused_and_the_command_line_never_allows_it(tmp_path, capsys):
    import glob

    import keras

    from keras_transfer.cli import main

    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2.0)(inputs))
    model.save(str(tmp_path / "lambda.keras"))
    with pytest.raises(ValueError, match="safe_mode=False"):
        keras.models.load_model(str(tmp_path / "lambda.keras"))
    np.savez(tmp_path / "data.npz", x_test=np.zeros((2, 8, 8, 3), "float32"), y_test=np.zeros(2, "int64"))
    assert main(["evaluate", str(tmp_path / "lambda.keras"), str(tmp_path / "data.npz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Lambda" in err and "safe_mode=False" in err
    for path in glob.glob(os.path.join(ROOT, "keras_transfer", "cli", "*.py")) + glob.glob(os.path.join(ROOT, "keras_transfer_cli", "*.py")):
        with open(path) as handle:
            source = handle.read()
        assert "safe_mode=False" not in source and "enable_unsafe_deserialization" not in source, path
