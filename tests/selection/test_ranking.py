"""rank_backbones: candidates of every kind, scored from one forward pass, best first."""

import json
import math

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.cli.rank import candidates_of
from keras_transfer_cli import main


def _digits(n_per_class=20, classes=4):
    from sklearn.datasets import load_digits

    digits = load_digits()
    keep = np.concatenate([np.flatnonzero(digits.target == c)[:n_per_class] for c in range(classes)])
    x = (digits.images[keep] * (255 / 16)).astype("float32")[..., None]  # 8x8x1 in [0, 255]
    return x, digits.target[keep]


def _trunk(seed, name, informative=True):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    if not informative:  # features that ignore the image: a constant plus noise-free bias
        x = keras.layers.Lambda(lambda t: 0.0 * t)(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(32, activation="relu")(x)
    return keras.Model(inputs, outputs, name=name)


def _source_classifier(x, y):
    keras.utils.set_random_seed(0)
    model = kt.build_classifier(_trunk(1, "source_trunk"), 4, freeze=False)
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=30, verbose=0)
    return model


def test_informative_features_rank_above_blind_ones_and_a_classifier_gets_leep():
    x, y = _digits()
    source = _source_classifier(x, y)
    ranking = kt.selection.rank_backbones(
        {"blind": _trunk(2, "blind", informative=False), "random trunk": _trunk(3, "random"), "source": source},
        (x, y), ["logme", "knn", "leep"], batch_size=16,
    )
    order = [row.candidate for row in ranking.rows]
    assert order[-1] == "blind"
    assert ranking.best == "source"
    rows = {row.candidate: row for row in ranking.rows}
    assert math.isnan(rows["random trunk"].scores["leep"])  # no source head: LEEP does not apply
    assert rows["source"].scores["leep"] > math.log(1 / 4)  # better than a uniform source head
    assert all(row.seconds > 0 for row in ranking.rows)
    assert "n/a" in ranking.to_markdown() and "| 1 | source |" in ranking.to_markdown()
    assert str(ranking).splitlines()[1].split()[:2] == ["1", "source"]


def test_a_saved_classifier_and_a_weights_file_are_candidates(tmp_path):
    x, y = _digits()
    source = _source_classifier(x, y)
    source.save(tmp_path / "source.keras")
    trunk = _trunk(4, "trunk")
    trunk.save_weights(tmp_path / "trunk.weights.h5")
    ranking = kt.selection.rank_backbones(
        [str(tmp_path / "source.keras"), (_trunk(5, "trunk"), str(tmp_path / "trunk.weights.h5"))], (x, y), "logme",
    )
    assert [row.error for row in ranking.rows] == [None, None]
    assert {row.candidate for row in ranking.rows} == {"source.keras", "trunk (trunk.weights.h5)"}
    path = ranking.plot(tmp_path / "ranking.png")
    assert open(path, "rb").read(4) == b"\x89PNG"


def test_a_candidate_that_fails_is_listed_last_and_the_others_are_ranked():
    x, y = _digits()
    ranking = kt.selection.rank_backbones(
        {"broken": "no_such_backbone", "wrong input": keras.Sequential([keras.Input((5,)), keras.layers.Dense(2)]),
         "ok": _trunk(6, "ok")}, (x, y), "logme",
    )
    assert ranking.rows[0].candidate == "ok" and ranking.rows[0].error is None
    errors = {row.candidate: row.error for row in ranking.rows[1:]}
    assert "no_such_backbone" in errors["broken"]
    assert errors["wrong input"]
    assert ranking.best == "ok"


@pytest.mark.parametrize("kwargs, message", [
    ({"data": (np.zeros((10, 8, 8, 1)), np.zeros(9))}, "`data`"),
    ({"data": (np.zeros((10, 8)), np.zeros(10))}, "`data`"),
    ({"metric": "accuracy"}, "`metric`"),
    ({"metric": []}, "`metric`"),
    ({"candidates": "vgg16"}, "`candidates`"),
    ({"candidates": ["a", "a"]}, "`candidates`"),
    ({"candidates": ("vgg16", None)}, "`candidates`"),  # one (backbone, weights) pair, not a list
    ({"batch_size": 0}, "`batch_size`"),
])
def test_bad_arguments_name_the_argument(kwargs, message):
    x, y = _digits(5)
    arguments = {"candidates": {"t": _trunk(7, "t")}, "data": (x, y), "metric": "logme", **kwargs}
    with pytest.raises((ValueError, TypeError), match=message):
        kt.selection.rank_backbones(arguments.pop("candidates"), arguments.pop("data"), arguments.pop("metric"), **arguments)


def test_the_command_line_writes_a_table_a_chart_and_results(tmp_path, capsys):
    x, y = _digits()
    _source_classifier(x, y).save(tmp_path / "source.keras")
    _trunk(8, "other").save(tmp_path / "other.keras")
    np.savez(tmp_path / "target.npz", x_train=x, y_train=y)
    out = tmp_path / "report"
    argv = ["rank", str(tmp_path / "target.npz"), "--backbones", f"{tmp_path / 'source.keras'},{tmp_path / 'other.keras'}",
            "--metric", "logme,leep", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "Ranking 2 backbones" in printed and "source.keras" in printed
    assert (out / "ranking.png").read_bytes()[:4] == b"\x89PNG"
    results = json.loads((out / "results.json").read_text())
    assert results["rows"][0]["candidate"] == "source.keras"
    assert "| rank | candidate | logme | leep |" in (out / "README.md").read_text()
    before = (out / "README.md").read_text()
    assert main(argv) == 2  # an existing report is kept
    assert (out / "README.md").read_text() == before


def test_a_list_of_two_candidates_may_end_with_a_keras_file(tmp_path):
    x, y = _digits()
    _trunk(9, "saved").save(tmp_path / "saved.keras")
    ranking = kt.selection.rank_backbones([_trunk(10, "given"), str(tmp_path / "saved.keras")], (x, y))
    assert sorted(row.candidate for row in ranking.rows) == ["given", "saved.keras"]
    assert all(row.error is None for row in ranking.rows)


def test_an_unknown_metric_flag_is_refused_before_loading_the_data(tmp_path, capsys):
    argv = ["rank", str(tmp_path / "missing.npz"), "--backbones", "vgg16", "--metric", "logme,acc", "--out", str(tmp_path / "r")]
    assert main(argv) == 2
    assert "--metric: unknown metric acc; available: logme" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_backbones_and_weights_flags():
    assert candidates_of("vgg16, mobilenet_v2", None) == {"vgg16": "vgg16", "mobilenet_v2": "mobilenet_v2"}
    assert candidates_of("vgg16,vgg16", "imagenet,none") == {"vgg16": ("vgg16", "imagenet"), "vgg16 (random)": ("vgg16", None)}
    with pytest.raises(ValueError, match="--weights"):
        candidates_of("a,b,c", "x.h5,y.h5")
    with pytest.raises(ValueError, match="--backbones"):
        candidates_of(" , ", None)


@pytest.mark.parametrize("n", [40, 200])  # a few batches run eagerly, more through `predict`
def test_the_forward_pass_gives_predicts_features_and_probabilities_either_way(n):
    from keras_transfer.selection import candidates as selection_candidates

    x, y = _digits(n_per_class=n // 4)
    source = _source_classifier(x[:40], y[:40])
    candidate = selection_candidates.build("source", source, x.shape[1:])
    features, probabilities = selection_candidates.extract(candidate, x, batch_size=16)
    np.testing.assert_allclose(features, candidate.features.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(probabilities, source.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert features.dtype == probabilities.dtype == np.float64 and len(features) == n


def test_a_source_classifier_made_for_other_image_sizes_scores_resized_data():
    x, y = _digits()
    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 3))  # made for larger RGB images than the 8x8 grayscale data
    hidden = keras.layers.Dense(16, activation="relu")(keras.layers.Flatten()(keras.layers.Rescaling(1 / 255)(inputs)))
    source = keras.Model(inputs, keras.layers.Dense(4, activation="softmax")(hidden))
    ranking = kt.selection.rank_backbones({"big": source}, (x, y), ["logme", "leep"])
    row = ranking.rows[0]
    assert row.error is None and np.isfinite(row.scores["leep"])
    resized = keras.ops.convert_to_numpy(keras.ops.image.resize(np.repeat(x, 3, axis=-1), (16, 16)))
    expected = kt.selection.score(keras.Model(inputs, hidden).predict(resized, verbose=0), y, metric="logme")
    assert row.scores["logme"] == pytest.approx(expected, rel=1e-4)

    vectors = keras.Sequential([keras.Input((10,)), keras.layers.Dense(4, activation="softmax")])  # no image input
    failed = kt.selection.rank_backbones({"vectors": vectors, "big": source}, (x, y)).rows
    assert [r.candidate for r in failed] == ["big", "vectors"]
    assert "candidate 'vectors'" in failed[1].error and "cannot be adapted" in failed[1].error
