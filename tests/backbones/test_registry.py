import numpy as np
import pytest

import keras
import keras_transfer as kt
from keras_transfer.groups import graph as groups_lib

# A representative subset builds in the default run; every family builds in `large`.
QUICK = ["vgg16", "resnet50", "resnet50_v2", "mobilenet", "mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "densenet121"]
FAMILIES = {
    "vgg": ["vgg16", "vgg19"],
    "resnet": ["resnet50", "resnet101", "resnet152"],
    "resnet_v2": ["resnet50_v2", "resnet101_v2", "resnet152_v2"],
    "mobilenet": ["mobilenet", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large"],
    "efficientnet": [f"efficientnet_b{i}" for i in range(8)],
    "efficientnet_v2": [f"efficientnet_v2_{s}" for s in ("b0", "b1", "b2", "b3", "s", "m", "l")],
    "convnext": [f"convnext_{s}" for s in ("tiny", "small", "base", "large", "xlarge")],
    "densenet": ["densenet121", "densenet169", "densenet201"],
    "xception": ["xception"],
    "inception": ["inception_v3", "inception_resnet_v2"],
    "nasnet": ["nasnet_mobile", "nasnet_large"],
}
EXPECTED_OUTPUT_CHANNELS = {"vgg16": 512, "resnet50": 2048, "resnet50_v2": 2048, "mobilenet": 1024, "mobilenet_v2": 1280,
                            "mobilenet_v3_small": 576, "efficientnet_b0": 1280, "densenet121": 1024}


def test_every_family_of_keras_applications_is_registered():
    names = kt.backbones.available()
    for members in FAMILIES.values():
        for name in members:
            assert name in names
    assert len(names) == sum(len(m) for m in FAMILIES.values())


def _check_spec_builds(name):
    spec = kt.backbones.get(name)
    size = spec.min_input_size
    model = spec.build((size, size, 3))
    out = model.output_shape
    assert len(out) == 4 and out[1] >= 1 and out[2] >= 1
    groups = spec.assign_groups(model)
    assert tuple(groups) == spec.layer_groups
    weighted = [layer for layer in model.layers if layer.weights]
    assigned = [layer for layers in groups.values() for layer in layers]
    assert {id(l) for l in weighted} <= {id(l) for l in assigned}, "every layer with weights is in a group"
    assert len(assigned) == len({id(l) for l in assigned}), "no layer in two groups"
    for group, layers in groups.items():
        assert any(layer.weights for layer in layers), f"group {group} holds no weights"
    # Groups run from input to output: the first group's first weighted layer
    # is the network's first weighted layer.
    assert groups[spec.layer_groups[0]][0] in model.layers[:6] or spec.layer_groups[0] == "stem"
    return model


@pytest.mark.parametrize("name", QUICK)
def test_backbone_builds_at_minimum_size_with_groups(name):
    model = _check_spec_builds(name)
    assert model.output_shape[-1] == EXPECTED_OUTPUT_CHANNELS[name]


@pytest.mark.large
@pytest.mark.parametrize("name", sorted(set(kt.backbones.available()) - set(QUICK)))
def test_every_backbone_builds_at_minimum_size_with_groups(name):
    _check_spec_builds(name)


def test_group_names_follow_the_architecture():
    assert kt.backbones.get("vgg16").layer_groups == ("block1", "block2", "block3", "block4", "block5")
    assert kt.backbones.get("resnet50").layer_groups == ("stem", "conv2", "conv3", "conv4", "conv5")
    assert kt.backbones.get("inception_v3").layer_groups[:2] == ("stem", "mixed0")


def test_generic_names_are_placed_by_the_graph():
    # Xception's shortcut convolutions have generic names (conv2d, conv2d_1...):
    # each belongs to the block it bypasses.
    spec = kt.backbones.get("xception")
    model = spec.build((71, 71, 3))
    groups = spec.assign_groups(model)
    shortcut = [l for l in model.layers if isinstance(l, keras.layers.Conv2D) and not l.name.startswith("block")]
    assert len(shortcut) == 4
    owners = [next(g for g, ls in groups.items() if l in ls) for l in shortcut]
    assert owners == ["block2", "block3", "block4", "block13"]


def test_unknown_backbone_suggests_close_names():
    with pytest.raises(ValueError, match=r"Unknown backbone 'vgg61'.*Did you mean.*'vgg16'"):
        kt.backbones.get("vgg61")
    with pytest.raises(TypeError, match="name"):
        kt.backbones.get(16)


def test_names_are_case_and_separator_insensitive():
    assert kt.backbones.get("EfficientNetB0").name == "efficientnet_b0"
    assert kt.backbones.get("MobileNet-V2").name == "mobilenet_v2"


def test_register_refuses_to_overwrite_silently():
    spec = kt.backbones.get("vgg16")
    with pytest.raises(ValueError, match="already registered"):
        kt.backbones.register(spec)
    with pytest.raises(TypeError, match="spec"):
        kt.backbones.register("vgg16")


def test_preprocess_matches_keras_applications():
    images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    cases = {
        "vgg16": keras.applications.vgg16.preprocess_input,
        "mobilenet_v2": keras.applications.mobilenet_v2.preprocess_input,
        "densenet121": keras.applications.densenet.preprocess_input,
        "efficientnet_b0": keras.applications.efficientnet.preprocess_input,
    }
    for name, reference in cases.items():
        ours = keras.ops.convert_to_numpy(kt.backbones.get(name).preprocess(images))
        np.testing.assert_allclose(ours, reference(images.copy()), rtol=1e-5, atol=1e-4, err_msg=name)


def test_imagenet_weights_offline_give_a_clear_error(monkeypatch):
    import keras.src.utils.file_utils as file_utils

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/x: None -- [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(file_utils, "get_file", offline)
    with pytest.raises(kt.backbones.WeightsDownloadError, match="offline.*weights="):
        kt.backbones.get("vgg16").build((32, 32, 3), weights="imagenet")


def test_imagenet_sizes_are_checked_where_keras_requires_them():
    with pytest.raises(ValueError, match="input_shape.*224"):
        kt.backbones.get("nasnet_mobile").build((96, 96, 3), weights="imagenet")


def test_input_below_minimum_is_refused_with_the_minimum():
    with pytest.raises(ValueError, match=r"input_shape.*>= 71.*xception"):
        kt.backbones.get("xception").build((32, 32, 3))


def test_dropout_inside_backbones_respects_freezing():
    model = kt.backbones.get("efficientnet_b0").build((32, 32, 3))
    dropouts = [l for l in model.layers if isinstance(l, keras.layers.Dropout)]
    assert dropouts and all(isinstance(l, kt.layers.FreezableDropout) for l in dropouts)
    model.trainable = False
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    a = model(x, training=True)
    b = model(x, training=False)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), atol=1e-5)


def test_cut_points_of_a_residual_block():
    inputs = keras.Input((4,))
    a = keras.layers.Dense(4, name="a")(inputs)
    b = keras.layers.Dense(4, name="b")(a)
    c = keras.layers.Add(name="c")([a, b])
    d = keras.layers.Dense(2, name="d")(c)
    model = keras.Model(inputs, d)
    segments = [[l.name for l in s] for s in groups_lib.segments(model)]
    assert segments[-3:] == [["a"], ["b", "c"], ["d"]]
