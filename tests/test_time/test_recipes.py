"""The strategies that adapt a trained source model, through `kt.transfer` and `keras-transfer adapt`."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.cli import main
from tests.strategies.test_transfer import SOURCE_MODEL_CASES
from tests.strategies.test_transfer import X
from tests.strategies.test_transfer import X_TARGET
from tests.strategies.test_transfer import X_VAL
from tests.strategies.test_transfer import Y
from tests.strategies.test_transfer import Y_VAL
from tests.test_case import tiny_backbone


@pytest.fixture(scope="module")
def source_model():
    keras.utils.set_random_seed(0)
    model, _ = kt.transfer("fine_tune", tiny_backbone(), (X, Y), preprocessing="unit", epochs=2, verbose=0)
    return model


@pytest.mark.parametrize("name", list(SOURCE_MODEL_CASES))
def test_adapts_the_source_model_and_predicts(name, source_model, tmp_path):
    before = [w.copy() for w in source_model.get_weights()]
    path = str(tmp_path / "source.keras")
    source_model.save(path)
    for given in (source_model, path):  # a model, or its .keras file
        model, history = kt.transfer(name, source_model=given, target=X_TARGET, seed=0, verbose=0, **SOURCE_MODEL_CASES[name])
        probabilities = model.predict(X_VAL, verbose=0)
        assert probabilities.shape == (len(X_VAL), 3)
        np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-5)
    assert all(np.array_equal(a, b) for a, b in zip(before, source_model.get_weights())), "the source model is untouched"
    strategy = kt.strategies.get_strategy(name)
    assert strategy.starts_from == "source_model" and strategy.requires == ("target",)
    if name == "tent":
        assert len(history.history["entropy"]) == 2, "one entry per pass over the target"
    if name == "shot":
        assert {"im_loss", "pseudo_label_loss"} <= set(history.history) and len(history.epoch) == 2
        assert not isinstance(model.classifier, kt.models.TransferClassifier), "split before the last layer"


def test_shot_split_at_a_named_layer(source_model):
    result = kt.transfer("shot", source_model=source_model, target=X_TARGET, validation_data=(X_VAL, Y_VAL), epochs=1,
                         feature_layer="head_pool", verbose=0)
    assert result.model.feature_extractor.output_shape == source_model.get_layer("head_pool").output.shape
    assert "val_accuracy" in result.history.history
    with pytest.raises(ValueError, match=r"feature_layer.*'head_pol'.*Did you mean 'head_pool'"):
        kt.transfer("shot", source_model=source_model, target=X_TARGET, feature_layer="head_pol", verbose=0)


def test_bad_arguments(source_model):
    with pytest.raises(ValueError, match=r"`backbone`.*adapts the trained `source_model`.*source_model="):
        kt.transfer("tent", tiny_backbone(), target=X_TARGET)
    with pytest.raises(ValueError, match=r"`data`.*validation_data"):
        kt.transfer("bn_adapt", source_model=source_model, data=(X, Y), target=X_TARGET)
    with pytest.raises(ValueError, match=r"`source_model`.*trained Keras classifier.*Received: source_model=None"):
        kt.transfer("shot", target=X_TARGET)
    with pytest.raises(ValueError, match=r"`source_model`.*No such file"):
        kt.transfer("tent", source_model="missing.keras", target=X_TARGET)
    with pytest.raises(ValueError, match=r"`target`.*strategy 'bn_adapt' needs it"):
        kt.transfer("bn_adapt", source_model=source_model)
    with pytest.raises(ValueError, match=r"`weights`.*builds no classifier.*Received: weights=None"):
        kt.transfer("bn_adapt", source_model=source_model, target=X_TARGET, weights=None)
    with pytest.raises(ValueError, match=r"`epochs`.*takes no gradient step"):
        kt.transfer("bn_adapt", source_model=source_model, target=X_TARGET, epochs=2)
    with pytest.raises(ValueError, match=r"`source_model`.*builds on a backbone.*bn_adapt, tent, shot"):
        kt.transfer("fine_tune", tiny_backbone(), (X, Y), source_model=source_model)
    with pytest.raises(ValueError, match=r"`backbone`.*Received: backbone=None"):
        kt.transfer("fine_tune", data=(X, Y))


def test_command_line_adapt(source_model, tmp_path, capsys):
    model_path, target_path, out = tmp_path / "source.keras", tmp_path / "target.npz", tmp_path / "adapted.keras"
    source_model.save(model_path)
    np.savez(target_path, x_target=X_TARGET)
    assert main(["adapt", str(model_path), str(target_path), "--strategy", "tent", "--out", str(out)]) == 0
    assert "Adapted model written to" in capsys.readouterr().out
    adapted = keras.models.load_model(out)
    assert isinstance(adapted, kt.test_time.TENT) and adapted.predict(X_VAL, verbose=0).shape == (len(X_VAL), 3)
    assert main(["adapt", str(model_path), str(target_path), "--strategy", "bn_adapt", "--out", str(out)]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert main(["adapt", str(model_path), str(target_path), "--strategy", "bn_adapt", "--out", str(out), "--overwrite",
                 "--option", "prior=0.5"]) == 0
    assert keras.models.load_model(out).prior == 0.5
    assert main(["adapt", str(model_path), str(target_path), "--strategy", "fine_tune"]) == 2
    assert "adapt a trained model (bn_adapt, tent, shot)" in capsys.readouterr().err
