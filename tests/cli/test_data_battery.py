"""The command line meets bad files: a warning or a one-line error naming the file, never a traceback; nothing half-written."""

import os
import warnings

import keras
import numpy as np
import pytest

import keras_transfer_cli
from keras_transfer.cli import _data
from keras_transfer.cli import main
from tests.cli.test_commands import toy
from tests.test_case import tiny_backbone


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("battery_cli")
    x, y = toy(24)
    for i in range(24):
        folder = root / "images" / f"class_{y[i]}"
        folder.mkdir(parents=True, exist_ok=True)
        keras.utils.save_img(str(folder / f"{i}.png"), x[i])
    (root / "images" / "class_1" / "notes.png").write_text("not an image")
    tiny_backbone().save(str(root / "backbone.keras"))
    bad = {
        "object": dict(x_train=np.array([np.zeros(3), np.zeros(4)], dtype=object), y_train=y[:2]),
        "lengths": dict(x_train=x, y_train=y[:20]),
        "float_labels": dict(x_train=x, y_train=y + 0.5),
        "labels_only": dict(y_train=y),
        "bool_images": dict(x_train=x > 100, y_train=y),
        "unknown_key": dict(x_train=x, y_train=y, images=x),
    }
    for name, arrays in bad.items():
        np.savez(root / f"{name}.npz", **arrays, allow_pickle=True) if name == "object" else np.savez(root / f"{name}.npz", **arrays)
    (root / "not_an_archive.npz").write_text("text")
    return root


def fit(files, data, out, *extra):
    return main(["fit", str(data), "--backbone", str(files / "backbone.keras"), "--preprocessing", "unit",
                 "--out", str(out), "--verbose", "0", "--epochs", "1", *extra])


def test_an_unreadable_image_is_skipped_with_a_warning_naming_it(files, tmp_path, capsys):
    out = tmp_path / "report"
    with pytest.warns(UserWarning, match=r"data: 1 of 25 images cannot be used: .*notes\.png \(Unknown image file format"):
        code = fit(files, files / "images", out)
    assert code == 0, capsys.readouterr().err
    assert (out / "README.md").is_file()


def test_strict_refuses_it_in_one_line_and_writes_nothing(files, tmp_path, capsys):
    out = tmp_path / "report"
    code = fit(files, files / "images", out, "--strict")
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: data: 1 of 25 images cannot be used: ") and "notes.png" in err
    assert "leave out --strict" in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize(("name", "message"), [
    ("object", r"object\.npz\['x_train'\] is an object array; it is refused \(reading it would run pickle\)"),
    ("lengths", r"lengths\.npz has 24 x_train and 20 y_train"),
    ("float_labels", r"float_labels\.npz\['y_train'\] holds float64 values.*integer class ids"),
    ("labels_only", r"labels_only\.npz has only one of x_train and y_train"),
    ("bool_images", r"bool_images\.npz\['x_train'\] holds bool values"),
    ("unknown_key", r"unknown_key\.npz holds arrays \['images'\]"),
    ("not_an_archive", r"not_an_archive\.npz is not a readable \.npz archive"),
])
def test_bad_npz_files_are_refused_in_one_line(files, tmp_path, capsys, name, message):
    code = fit(files, files / f"{name}.npz", tmp_path / "report")
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: data: "), err
    import re

    assert re.search(message, err), err
    assert not (tmp_path / "report").exists()


def test_a_fit_that_fails_midway_leaves_no_folder_and_no_partial_files(files, tmp_path, monkeypatch):
    import keras_transfer as kt

    calls = []

    def failing(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 2:
            raise RuntimeError("the machine ran out of memory")
        return original(*args, **kwargs)

    original = kt.transfer
    monkeypatch.setattr(kt, "transfer", failing)
    out = tmp_path / "report"
    with pytest.raises(RuntimeError, match="out of memory"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit(files, files / "images", out, "--strategy", "feature_extraction", "prototype")
    assert calls == ["feature_extraction", "prototype"]
    assert not out.exists()
    assert os.listdir(tmp_path) == []  # the hidden staging folder is gone too


def test_an_existing_folder_keeps_the_files_the_report_does_not_rewrite(files, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert fit(files, files / "images", out) == 0
    assert (out / "notes.txt").read_text() == "my notes" and (out / "README.md").is_file()
    assert sorted(p for p in os.listdir(tmp_path)) == ["mine"]


def test_random_frozen_backbone_warns(files, tmp_path):
    with pytest.warns(UserWarning, match=r"'feature_extraction' keeps the backbone frozen, and it has random weights.*--weights none"):
        assert fit(files, files / "images", tmp_path / "report", "--weights", "none") == 0


def test_warnings_print_as_one_line():
    line = keras_transfer_cli._warning_line(UserWarning("data: 1 of 3 images cannot be used"), UserWarning, "x.py", 3)
    assert line == "warning: data: 1 of 3 images cannot be used\n"


def test_the_validation_split_is_stratified():
    y = np.repeat([0, 1, 2], [6, 6, 3])
    x = np.arange(len(y))
    x_train, y_train, x_val, y_val = _data.split_validation(x, y, 0.2, seed=0)
    assert sorted(np.bincount(y_val).tolist()) == [1, 1, 1]  # round(6 * 0.2) = 1, round(3 * 0.2) = 1
    assert np.bincount(y_train).tolist() == [5, 5, 2]
    assert sorted(np.concatenate([x_train, x_val]).tolist()) == x.tolist()
    _, _, _, y_val = _data.split_validation(np.arange(100), np.arange(100) % 2, 0.3, seed=1)
    assert np.bincount(y_val).tolist() == [15, 15]


def test_errors_speak_in_flags(files, tmp_path, capsys):
    code = main(["fit", str(files / "images"), "--backbone", "vgg16", "--weights", "none", "--out", str(tmp_path / "r"),
                 "--verbose", "0"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--adapt-input" in err and "adapt_input=True" not in err, err
    assert keras_transfer_cli.in_flags("Pass `image_size=(h, w)`.") == "Pass --image-size HEIGHT WIDTH."


def test_a_diverging_loss_stops_with_a_clear_error_and_saves_nothing(files, tmp_path, capsys):
    out = tmp_path / "report"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = fit(files, files / "images", out, "--strategy", "fine_tune", "--learning-rate", "1e30", "--epochs", "3")
    err = capsys.readouterr().err
    assert code == 2
    assert "--strategy fine_tune: the training loss became NaN or infinite" in err and "Lower --learning-rate" in err
    assert not out.exists() and os.listdir(tmp_path) == []


def test_a_one_channel_saved_backbone_reads_the_folder_in_grayscale(files, tmp_path):
    tiny_backbone((8, 8, 1)).save(str(tmp_path / "gray.keras"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["fit", str(files / "images"), "--backbone", str(tmp_path / "gray.keras"), "--preprocessing", "unit",
                     "--out", str(tmp_path / "report"), "--verbose", "0", "--epochs", "1"])
    assert code == 0
    assert keras.models.load_model(str(tmp_path / "report" / "feature_extraction.keras")).input_shape == (None, 8, 8, 1)
