"""The `keras-transfer` command, run in-process on tiny data written to tmp_path."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_transfer.cli import commands
from keras_transfer.cli import main
from tests.test_case import tiny_backbone

PNG = b"\x89PNG\r\n\x1a\n"


def toy(n, classes=3, shift=0.0, seed=0):
    y = np.arange(n) % classes
    noise = np.random.default_rng(seed).normal(0, 10, (n, 8, 8, 3))
    return np.clip(noise + y[:, None, None, None] * 80 + 30 + shift, 0, 255).astype("float32"), y


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    x, y = toy(30)
    x_test, y_test = toy(15, seed=1)
    np.savez(root / "toy.npz", x_train=x, y_train=y, x_test=x_test, y_test=y_test, x_target=toy(20, shift=20, seed=2)[0])
    np.savez(root / "labelled_only.npz", x_train=x, y_train=y)
    for i in range(18):
        folder = root / "images" / f"class_{y[i]}"
        folder.mkdir(parents=True, exist_ok=True)
        keras.utils.save_img(str(folder / f"{i}.png"), x[i])
    tiny_backbone().save(str(root / "backbone.keras"))
    return root


def fit_args(files, out, *extra):
    return ["fit", str(files / "toy.npz"), "--backbone", str(files / "backbone.keras"), "--preprocessing", "unit",
            "--out", str(out), "--verbose", "0", *extra]


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    for command in ("demo", "fit", "evaluate", "export", "bench", "strategies"):
        assert command in text


def test_fit_compares_strategies_and_writes_the_report(files, tmp_path, capsys):
    out = tmp_path / "report"
    code = main(fit_args(files, out, "--strategy", "feature_extraction", "prototype", "--epochs", "2",
                         "--option", "metric='euclidean'", "--option", "cache_features=True"))
    assert code == 0, capsys.readouterr().err
    for name in ("README.md", "results.json", "feature_extraction.keras", "prototype.keras"):
        assert (out / name).is_file(), name
    for image in ("learning_curves.png", "comparison.png"):
        assert (out / image).read_bytes()[:8] == PNG, image
    readme = (out / "README.md").read_text()
    assert "| feature_extraction |" in readme and "| prototype |" in readme and "![strategy comparison](comparison.png)" in readme
    results = json.loads((out / "results.json").read_text())
    assert [r["strategy"] for r in results["runs"]] == ["feature_extraction", "prototype"]
    assert len(results["runs"][0]["history"]["val_accuracy"]) == 2
    assert results["train_examples"] == 24 and results["val_examples"] == 6  # 20% held out
    model = keras.models.load_model(str(out / "prototype.keras"))
    x, y = toy(15, seed=1)
    assert model.predict(x, verbose=0).shape == (15, 3)
    assert np.mean(model.predict(x, verbose=0).argmax(-1) == y) >= 0.8  # euclidean prototypes separate the toy

    # evaluate: the accuracy it prints is the model's on the test arrays.
    capsys.readouterr()
    assert main(["evaluate", str(out / "prototype.keras"), str(files / "toy.npz"), "--verbose", "0"]) == 0
    printed = capsys.readouterr().out
    expected = np.mean(model.predict(x, verbose=0).argmax(-1) == y)
    assert f"accuracy: {expected:.4f}" in printed and "split 'test' (15 examples)" in printed

    # A second fit into the same folder is refused before any work, unless --overwrite.
    before = (out / "README.md").read_text()
    assert main(fit_args(files, out, "--strategy", "prototype")) == 2
    assert "already holds a report; pass --overwrite" in capsys.readouterr().err
    assert (out / "README.md").read_text() == before
    assert main(fit_args(files, out, "--strategy", "prototype", "--overwrite")) == 0
    assert "feature_extraction" not in (out / "README.md").read_text()


def test_fit_on_an_image_directory_and_evaluate_it(files, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["fit", str(files / "images"), "--backbone", str(files / "backbone.keras"), "--strategy", "prototype",
                 "--option", "metric=euclidean", "--preprocessing", "unit", "--out", str(out), "--verbose", "0"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["class_names"] == ["class_0", "class_1", "class_2"]
    assert "images of" in results["data"] and "8x8" in results["data"]
    assert (out / "learning_curves.png").read_bytes()[:8] == PNG
    assert not (out / "comparison.png").exists()  # one strategy: nothing to compare
    model = keras.models.load_model(str(out / "prototype.keras"))
    assert model.input_shape == (None, 8, 8, 3)
    capsys.readouterr()
    assert main(["evaluate", str(out / "prototype.keras"), str(files / "images"), "--verbose", "0"]) == 0
    assert "(18 examples)" in capsys.readouterr().out


def test_fit_domain_adaptation_takes_the_target_array(files, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(fit_args(files, out, "--strategy", "coral", "--epochs", "1")) == 0, capsys.readouterr().err
    assert "alignment_loss" in json.loads((out / "results.json").read_text())["runs"][0]["history"]


def test_export_writes_a_loadable_saved_model_and_never_overwrites(files, tmp_path, capsys):
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
    model.save(str(tmp_path / "m.keras"))
    target = tmp_path / "saved"
    assert main(["export", str(tmp_path / "m.keras"), str(target), "--class-names", "a", "b", "c"]) == 0
    loaded = tf.saved_model.load(str(target))
    x = toy(4)[0]
    outputs = loaded.signatures["serving_default"](tf.constant(x))
    np.testing.assert_allclose(outputs["probabilities"].numpy(), model.predict(x, verbose=0), atol=1e-5)
    capsys.readouterr()
    assert main(["export", str(tmp_path / "m.keras"), str(target)]) == 2
    assert "pass --overwrite" in capsys.readouterr().err


def test_strategies_lists_the_registry(capsys):
    assert main(["strategies"]) == 0
    text = capsys.readouterr().out
    for name in ("feature_extraction", "fine_tune", "dann", "pp_pssl", "l2sp", "prototype"):
        assert name in text
    assert "Ganin" in text


def test_bench_without_a_checkout_says_so(tmp_path, capsys):
    from keras_transfer_cli import bench

    assert bench.bench(type("Args", (), {"bench_args": []})(), root=str(tmp_path)) == 2
    assert "ships with the source checkout" in capsys.readouterr().err


@pytest.mark.large  # imports every benchmark module (about 10 s)
def test_bench_runs_the_suite_of_the_checkout(capsys):
    from keras_transfer_cli import bench

    assert os.path.isfile(os.path.join(bench.checkout_root(), "benchmarks", "run.py"))
    assert main(["bench", "--list", "--only", "jit"]) == 0
    assert "Running: -m benchmarks.run --list --only jit" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["fit", "/no/such/dir", "--backbone", "vgg16"], "no such file or directory: '/no/such/dir'"),
        (["fit", "{toy}", "--backbone", "vgg61"], "--backbone"),
        (["fit", "{toy}", "--backbone", "{backbone}", "--option", "alpha=0.5"], "--option alpha: no selected strategy takes it"),
        (["fit", "{toy}", "--backbone", "{backbone}", "--option", "alpha"], "KEY=VALUE"),
        (["fit", "{labelled}", "--backbone", "{backbone}", "--strategy", "dann"], "strategy 'dann' needs --target"),
        (["fit", "{toy}", "--backbone", "{backbone}", "--epochs", "0"], "`epochs`"),
        (["fit", "tfds:surely_not_a_dataset", "--backbone", "{backbone}"], "cannot load TFDS dataset 'surely_not_a_dataset'"),
        (["evaluate", "/no/model.keras", "{toy}"], "no such file: '/no/model.keras'"),
    ],
)
def test_clear_errors(files, tmp_path, capsys, argv, message):
    argv = [a.format(toy=files / "toy.npz", labelled=files / "labelled_only.npz", backbone=files / "backbone.keras") for a in argv]
    if argv[0] == "fit":
        argv += ["--out", str(tmp_path / "out"), "--verbose", "0", "--preprocessing", "unit"]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_a_misspelt_strategy_is_an_argparse_error_with_a_suggestion(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["fit", "data.npz", "--backbone", "vgg16", "--strategy", "fine_tunning"])
    assert stop.value.code == 2
    assert "Did you mean 'fine_tune'" in capsys.readouterr().err


def test_bad_option_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["fit", "data.npz", "--backbone", "vgg16", "--epochs", "many"])
    assert stop.value.code == 2
    assert "invalid int value: 'many'" in capsys.readouterr().err


def test_offline_imagenet_weights_give_a_clear_error(files, tmp_path, capsys, monkeypatch):
    from keras_transfer.backbones import spec

    def offline(*args, **kwargs):
        raise spec.WeightsDownloadError("Could not download the ImageNet weights of backbone 'mobilenet_v2' (offline).")

    monkeypatch.setattr(spec.BackboneSpec, "build", offline)
    argv = ["fit", str(files / "toy.npz"), "--backbone", "mobilenet_v2", "--adapt-input", "--out", str(tmp_path / "o"),
            "--verbose", "0"]
    assert main(argv) == 2
    assert "--weights none (random) or --weights FILE" in capsys.readouterr().err


@pytest.fixture(scope="module")
def text_files(tmp_path_factory):
    """A tiny random BERT preset and a text directory: one sub-folder per class of .txt files."""
    from tests.text.tiny_preset import make_tiny_preset, sentiment_texts

    root = tmp_path_factory.mktemp("cli_text")
    preset = make_tiny_preset(str(root / "preset"), dropout=0.0)
    texts, labels = sentiment_texts(24, seed=5)
    for i, (text, label) in enumerate(zip(texts, labels)):
        folder = root / "texts" / ("positive" if label else "negative")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i}.txt").write_text(text)
    np.savez(root / "texts.npz", x_train=np.array(texts), y_train=labels)
    return root, preset, texts, labels


@pytest.mark.large  # slow (15-45 s); the default run stays under its budget
def test_fit_evaluate_and_export_a_text_strategy(text_files, tmp_path, capsys):
    root, preset, texts, labels = text_files
    out = tmp_path / "text_report"
    code = main(["fit", str(root / "texts"), "--strategy", "text", "--backbone", preset, "--epochs", "2",
                 "--option", "freeze=False", "--out", str(out), "--verbose", "0"])
    assert code == 0, capsys.readouterr().err
    summary = json.loads((out / "results.json").read_text())
    assert summary["class_names"] == ["negative", "positive"] and summary["data"].startswith("texts of")
    assert summary["train_examples"] + summary["val_examples"] == 24
    model = keras.models.load_model(str(out / "text.keras"))
    assert model.predict(texts[:3], verbose=0).shape == (3, 2)
    capsys.readouterr()
    assert main(["evaluate", str(out / "text.keras"), str(root / "texts.npz"), "--verbose", "0"]) == 0
    report = capsys.readouterr().out
    accuracy = float(report.split("accuracy: ")[1].split()[0])
    expected = np.mean(model.predict(texts, verbose=0).argmax(-1) == labels)
    assert abs(accuracy - expected) < 1e-4, report
    saved = tmp_path / "text_savedmodel"
    assert main(["export", str(out / "text.keras"), str(saved), "--class-names", "negative", "positive"]) == 0
    import keras_transfer as kt

    served = kt.text.load_saved_model(str(saved)).signatures["serving_default"](texts=tf.constant(texts[:3]))
    np.testing.assert_allclose(served["probabilities"], model.predict(texts[:3], verbose=0), atol=1e-5)


def test_text_strategy_errors(text_files, files, tmp_path, capsys):
    root, preset, _, _ = text_files
    base = ["--backbone", preset, "--out", str(tmp_path / "o"), "--verbose", "0"]
    assert main(["fit", str(files / "toy.npz"), "--strategy", "text", *base]) == 2
    assert "holds numbers, but the chosen strategies take texts" in capsys.readouterr().err
    assert main(["fit", str(root / "texts.npz"), "--strategy", "feature_extraction", *base]) == 2
    assert "holds texts, but the chosen strategies take images: choose --strategy text" in capsys.readouterr().err
    assert main(["fit", str(root / "texts"), "--strategy", "text", "feature_extraction", *base]) == 2
    assert "mixes strategies that take different inputs" in capsys.readouterr().err
    base[1] = str(tmp_path / "no_such_preset")  # a text backbone is checked by build_text_classifier
    assert main(["fit", str(root / "texts"), "--strategy", "text", *base]) == 2
    assert "`preset`: looked for a local preset directory" in capsys.readouterr().err
