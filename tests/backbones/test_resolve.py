"""`resolve_backbone`: the one resolution of a backbone argument (build_classifier, text, transfer, CLI)."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.backbones import registry
from keras_transfer.cli import fit as cli_fit


def _trunk():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="conv_a")(inputs)
    x = keras.layers.Conv2D(4, 3, name="conv_b")(x)
    return keras.Model(inputs, x, name="trunk")


def test_each_kind_of_argument(tmp_path):
    resolved = kt.backbones.resolve_backbone("Mobilenet_V2")
    assert (resolved.kind, resolved.name, resolved.spec) == ("registry", "mobilenet_v2", kt.backbones.get("mobilenet_v2"))
    trunk = _trunk()
    assert kt.backbones.resolve_backbone(trunk).model is trunk
    path = str(tmp_path / "trunk.keras")
    trunk.save(path)
    loaded = kt.backbones.resolve_backbone(path)
    assert loaded.kind == "model" and [w.shape for w in loaded.model.weights] == [w.shape for w in trunk.weights]
    np.testing.assert_array_equal(loaded.model.get_layer("conv_a").kernel.numpy(), trunk.get_layer("conv_a").kernel.numpy())
    assert kt.backbones.resolve_backbone(resolved) is resolved


def test_bad_arguments_are_refused_before_anything_is_built(tmp_path):
    with pytest.raises(ValueError, match=r"Unknown backbone 'vgg61'.*Did you mean .*'vgg16'"):
        kt.backbones.resolve_backbone("vgg61")
    with pytest.raises(TypeError, match=r"`backbone`.*\.keras file.*Received: backbone=3"):
        kt.backbones.resolve_backbone(3)
    text_file = tmp_path / "notes.txt"
    text_file.write_text("x")
    with pytest.raises(ValueError, match=r"`--backbone`.*saved \.keras model"):
        kt.backbones.resolve_backbone(str(text_file), argument="--backbone")
    subclassed = keras.Sequential([keras.layers.Dense(2)])  # no Input: not usable as a trunk
    with pytest.raises(TypeError, match=r"`backbone`.*functional"):
        kt.backbones.resolve_backbone(subclassed)
    with pytest.raises(kt.text.PresetNotFoundError, match=r"no_such_preset"):
        kt.backbones.resolve_backbone("./no_such_preset", texts=True)


def test_build_classifier_looks_the_registry_up_once(monkeypatch):
    calls = []
    find = registry.find
    monkeypatch.setattr(registry, "find", lambda name: calls.append(name) or find(name))
    model = kt.build_classifier("vgg16", 2, weights=None, input_shape=(32, 32, 3))
    assert calls == ["vgg16"] and "block5" in model.layer_groups


def test_a_keras_file_is_a_backbone_everywhere(tmp_path):
    path = str(tmp_path / "trunk.keras")
    _trunk().save(path)
    model = kt.build_classifier(path, 2, preprocessing="unit")
    assert model.backbone.get_layer("conv_b") is not None
    assert isinstance(cli_fit.backbone_from(path), keras.Model)
    result = kt.transfer("feature_extraction", path, (np.zeros((4, 8, 8, 3)), np.array([0, 1, 0, 1])), epochs=1,
                         preprocessing="unit", verbose=0)
    assert isinstance(result.model, kt.models.TransferClassifier)
