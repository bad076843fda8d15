"""The parity benchmark compares like with like: our DANN twin of ADAPT's moves every weight as ADAPT's does."""

import json

import keras
import numpy as np
import pytest

from benchmarks.parity import deep
from benchmarks.parity import methods

import keras_transfer as kt


def test_every_row_names_its_twin_and_runs_both_sides_on_its_pairs():
    names = [m.name for m in methods.METHODS]
    assert len(names) == len(set(names))
    for method in methods.METHODS:
        assert callable(method.ours) and (method.adapt is None or callable(method.adapt)), method.name
        assert set(method.pairs) <= {"moons", "digits", "fmnist"}, method.name
    with pytest.raises(ValueError, match="unknown methods"):
        methods.get(["not_a_row"])


def test_one_sgd_step_of_our_dann_twin_matches_adapt():
    feature_based = pytest.importorskip("adapt.feature_based")
    rng = np.random.default_rng(0)
    x_s, x_t = rng.normal(size=(64, 2)).astype("float32"), rng.normal(1.0, 1.0, size=(64, 2)).astype("float32")
    y_s = (x_s[:, 0] > 0).astype("int64")
    keras.utils.set_random_seed(0)
    encoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, activation="relu")])
    task = keras.Sequential([keras.Input((8,)), keras.layers.Dense(2, activation="softmax")])
    discriminator = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8, activation="relu"),
                                      keras.layers.Dense(1, activation="sigmoid")])
    theirs = feature_based.DANN(encoder=encoder, task=task, discriminator=discriminator, Xt=x_t, lambda_=0.5,
                                optimizer=keras.optimizers.SGD(0.5), loss="categorical_crossentropy", verbose=0)
    twins = [keras.models.clone_model(m) for m in (encoder, task, discriminator)]
    for twin, model in zip(twins, (encoder, task, discriminator)):
        twin.set_weights(model.get_weights())
    ours = deep.dann_model(*twins, lambda_=0.5)
    ours.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy")
    initial = [w.copy() for w in encoder.get_weights() + task.get_weights()]
    theirs.fit(x_s, np.eye(2, dtype="float32")[y_s], epochs=1, batch_size=64, shuffle=False, verbose=0)
    ours.fit(kt.data.domain_adaptation_dataset(source=(x_s, y_s), target=x_t, batch_size=64, shuffle=False),
             epochs=1, verbose=0)
    adapt_weights = theirs.encoder_.get_weights() + theirs.task_.get_weights() + theirs.discriminator_.get_weights()
    our_weights = twins[0].get_weights() + twins[1].get_weights() + [w.numpy() for w in ours.alignment.trainable_weights]
    for a, b in zip(adapt_weights, our_weights, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert max(np.abs(a - b).max() for a, b in zip(initial, our_weights)) > 1e-3  # the step moved the weights


def test_adapts_deepcoral_trains_its_encoder_on_the_coral_term_alone():
    # What the parity table's deepcoral row says of ADAPT 0.4.5: with the CORAL term off (lambda_=0)
    # its encoder does not move, although the task loss depends on it.
    feature_based = pytest.importorskip("adapt.feature_based")
    rng = np.random.default_rng(0)
    x_s, x_t = rng.normal(size=(64, 2)).astype("float32"), rng.normal(1.0, 1.0, size=(64, 2)).astype("float32")
    y = np.eye(2, dtype="float32")[(x_s[:, 0] > 0).astype(int)]
    keras.utils.set_random_seed(0)
    encoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, activation="relu")])
    task = keras.Sequential([keras.Input((8,)), keras.layers.Dense(2, activation="softmax")])
    model = feature_based.DeepCORAL(encoder=encoder, task=task, Xt=x_t, lambda_=0.0, optimizer=keras.optimizers.SGD(0.5),
                                    loss="categorical_crossentropy", verbose=0)
    model.fit(x_s, y, epochs=2, batch_size=64, shuffle=False, verbose=0)
    for before, after in zip(encoder.get_weights(), model.encoder_.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert max(np.abs(b - a).max() for b, a in zip(task.get_weights(), model.task_.get_weights())) > 1e-3


def test_summarize_merges_runs_later_files_replacing_earlier_records(tmp_path, capsys):
    from benchmarks import adapt_parity

    def record(acc, seed=0, library="ours"):
        return {"pair": "moons", "method": "dann", "seed": seed, "library": library, "acc": acc, "val_acc": acc,
                "seconds": 1.0, "cpu_seconds": 1.0}

    run = {"run": {"command": "x", "date": "d", "load_start": "0"}}
    settings = {"pair_settings": {"moons": "two moons"}}
    old, new = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    old.write_text("\n".join(json.dumps(r) for r in [run, settings, record(0.1), record(0.5, library="adapt"),
                                                      record(0.3, seed=1)]) + "\n")
    new.write_text("\n".join(json.dumps(r) for r in [run, record(0.9)]) + "\n")
    adapt_parity.main(["--summarize", str(old), str(new), "--methods", "dann"])
    page = capsys.readouterr().out
    row = next(line for line in page.splitlines() if line.startswith("| dann |"))
    assert "| 0.900 | 0.500 |" in row, row  # seed 0: the later record (0.9) against ADAPT's; seed 1 has no ADAPT run
