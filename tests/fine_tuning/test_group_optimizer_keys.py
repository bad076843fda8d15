"""GroupOptimizer keys: group names, layers and variable paths; a key that matches nothing is refused."""

import json

import keras
import numpy as np
import pytest

import keras_transfer as kt

X = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
Y = np.ones((16, 1), "float32")


def sequential():
    return keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, name="d1"), keras.layers.Dense(1, name="d2")], name="net"
    )


def updates(multipliers=None, groups=None):
    keras.utils.set_random_seed(0)
    model = sequential()
    before = {v.path: np.array(v) for v in model.weights}
    inner = keras.optimizers.Adam(1e-2)
    optimizer = inner if multipliers is None else kt.optimizers.GroupOptimizer(inner, multipliers, groups=groups)
    model.compile(optimizer, "mse")
    model.fit(X, Y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    return {v.path: np.array(v) - before[v.path] for v in model.weights}


def test_a_layer_name_scales_every_variable_of_the_layer_in_a_sequential_model():
    # Before 0.2 the key "d1" matched no path ("net/d1/kernel") and Adam moved d1 as if unscaled.
    plain, scaled = updates(), updates({"d1": 0.01})
    for name in ("kernel", "bias"):
        np.testing.assert_allclose(scaled[f"net/d1/{name}"], 0.01 * plain[f"net/d1/{name}"], rtol=1e-3, atol=1e-7)
        np.testing.assert_allclose(scaled[f"net/d2/{name}"], plain[f"net/d2/{name}"], rtol=1e-5)


def test_group_names_scale_their_variables_and_the_config_reads_group_to_factor():
    groups = {"body": ["net/d1/kernel", "net/d1/bias"]}
    plain, scaled = updates(), updates({"body": 0.1}, groups)
    np.testing.assert_allclose(scaled["net/d1/kernel"], 0.1 * plain["net/d1/kernel"], rtol=1e-3, atol=1e-7)
    optimizer = kt.optimizers.GroupOptimizer("adam", {"body": 0.1}, groups=groups)
    config = json.loads(json.dumps(optimizer.get_config()))
    assert config["multipliers"] == {"body": 0.1} and config["groups"] == groups


def test_the_most_specific_key_wins():
    model = sequential()
    optimizer = kt.optimizers.GroupOptimizer(
        "sgd", {"all": 0.5, "d1": 0.2, "d1/bias": 0.3}, groups={"all": [v.path for v in model.weights]}
    )
    optimizer.build(model.trainable_variables)
    d1, d2 = model.get_layer("d1"), model.get_layer("d2")
    assert (optimizer.multiplier(d1.bias), optimizer.multiplier(d1.kernel), optimizer.multiplier(d2.kernel)) == (0.3, 0.2, 0.5)


@pytest.mark.parametrize("key", ["d9", "body", "net/d1/gamma"])
def test_a_key_that_matches_no_variable_is_refused_before_training(key):
    model = sequential()
    model.compile(kt.optimizers.GroupOptimizer("adam", {key: 0.5}), "mse")
    before = [np.array(v) for v in model.weights]
    with pytest.raises(ValueError, match=rf"the key '{key}' matches no variable"):
        model.fit(X, Y, epochs=1, verbose=0)
    assert all(np.array_equal(b, np.array(v)) for b, v in zip(before, model.weights))


def test_discriminative_lr_writes_group_keys_and_an_unknown_group_is_refused():
    model = kt.build_classifier("vgg16", 2, weights=None, input_shape=(32, 32, 3), freeze=False)
    model.compile("adam", "sparse_categorical_crossentropy")
    callback = kt.callbacks.DiscriminativeLR({"block5": 0.1})
    callback.set_model(model)
    assert model.optimizer.multipliers == {"block5": 0.1}
    assert set(model.optimizer.groups["block5"]) == {v.path for v in model.backbone.weights if v.path.startswith("block5_")}
    with pytest.raises(ValueError, match="Unknown group 'block9'"):
        kt.callbacks.DiscriminativeLR({"block9": 0.1}).set_model(model)
