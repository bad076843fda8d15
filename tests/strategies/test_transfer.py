"""Every registered strategy runs through `keras_transfer.transfer` on a tiny case."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from tests.test_case import tiny_backbone

SHAPE = (8, 8, 3)
GENERATOR = {"filters": (4, 4), "hidden_units": 8, "latent_dim": 4}


def toy(n, classes=3, shift=0.0, seed=0):
    """Images whose brightness gives the class: separable by any backbone."""
    y = np.arange(n) % classes
    noise = np.random.default_rng(seed).normal(0, 10, (n, *SHAPE))
    x = noise + (y[:, None, None, None] * 80 + 30 + shift)
    return np.clip(x, 0, 255).astype("float32"), y


X, Y = toy(24)
X_VAL, Y_VAL = toy(15, seed=1)
X_SOURCE, Y_SOURCE = toy(24, classes=4, seed=2)
X_TARGET, _ = toy(24, shift=20, seed=3)

# Inputs each strategy needs, plus small options so that a case takes seconds.
CASES = {
    "feature_extraction": dict(data=(X, Y)),
    "fine_tune": dict(data=(X, Y), epochs=2),
    "gradual": dict(data=(X, Y), epochs=2),
    "l2sp": dict(data=(X, Y), alpha=0.5),
    "lwf": dict(data=(X, Y), source=(X_SOURCE, Y_SOURCE)),
    "co_tuning": dict(data=(X, Y), source=(X_SOURCE, Y_SOURCE)),
    "bss": dict(data=(X, Y)),
    "delta": dict(data=(X, Y)),
    "stochnorm": dict(data=(X, Y)),
    "prototype": dict(data=(X, Y), metric="euclidean"),
    "dann": dict(source=(X, Y), target=X_TARGET, hidden_units=(8,)),
    "cdan": dict(source=(X, Y), target=X_TARGET, hidden_units=(8,)),
    "mmd": dict(source=(X, Y), target=X_TARGET),
    "coral": dict(source=(X, Y), target=X_TARGET),
    "jan": dict(source=(X, Y), target=X_TARGET),
    "bsp": dict(source=(X, Y), target=X_TARGET, hidden_units=(8,)),
    "mcc": dict(source=(X, Y), target=X_TARGET),
    "afn": dict(source=(X, Y), target=X_TARGET),
    "entropy": dict(source=(X, Y), target=X_TARGET),
    "mcd": dict(source=(X, Y), target=X_TARGET, generator_steps=2),
    "mdd": dict(source=(X, Y), target=X_TARGET, hidden_units=(8,)),
    "fixmatch": dict(data=(X, Y), target=X_TARGET, unlabeled_ratio=2, threshold=0.0),
    "pseudo_label": dict(data=(X, Y), target=X_TARGET, unlabeled_ratio=2, threshold=0.0, rampup_steps=2),
    "mean_teacher": dict(data=(X, Y), target=X_TARGET, unlabeled_ratio=2, rampup_steps=2),
    "uda": dict(data=(X, Y), target=X_TARGET, unlabeled_ratio=2, threshold=0.0),
    "flexmatch": dict(data=(X, Y), target=X_TARGET, unlabeled_ratio=2, threshold=0.5),
    "distill": dict(data=(X, Y), source=(X_SOURCE, Y_SOURCE)),
    "pp_pssl": dict(
        data=(X, Y), source=(X_SOURCE, Y_SOURCE), generator_options=GENERATOR, pretrain_steps=2, unlabeled_ratio=2,
        threshold=0.0,
    ),
    "lp_ft": dict(data=(X, Y), probe_epochs=3, patience=1),
    "wise_ft": dict(data=(X, Y), probe_epochs=3, patience=1, alphas=(0.5, 1.0)),
    "model_soup": dict(data=(X, Y), probe_epochs=3, patience=1, ingredients=2),
}
# Keys the history of the main `fit` must have, beyond loss/accuracy/val_*.
EXTRA_KEYS = {
    "fine_tune": {"freeze_stage"},
    "lp_ft": {"freeze_stage"},
    "gradual": {"freeze_stage"},
    "dann": {"task_loss", "alignment_loss", "domain_accuracy", "gradient_reversal_lambda"},
    "cdan": {"task_loss", "alignment_loss", "domain_accuracy", "gradient_reversal_lambda"},
    "mmd": {"task_loss", "alignment_loss"},
    "coral": {"task_loss", "alignment_loss"},
    "jan": {"task_loss", "alignment_loss"},
    "bsp": {"task_loss", "alignment_loss", "domain_accuracy", "gradient_reversal_lambda", "bsp_loss"},
    "mcc": {"task_loss", "mcc_loss"},
    "afn": {"task_loss", "afn_loss"},
    "entropy": {"task_loss", "entropy_loss"},
    "mcd": {"discrepancy"},
    "mdd": {"task_loss", "alignment_loss", "gradient_reversal_lambda"},
    "fixmatch": {"unlabeled_loss", "mask_rate"},
    "pseudo_label": {"unlabeled_loss", "mask_rate", "unlabeled_weight"},
    "mean_teacher": {"unlabeled_loss", "unlabeled_weight"},
    "uda": {"unlabeled_loss", "mask_rate"},
    "flexmatch": {"unlabeled_loss", "mask_rate"},
    "lwf": {"lwf_loss"},
    "co_tuning": {"co_tuning_loss"},
    "bss": {"bss_penalty"},
    "delta": {"delta_penalty"},
    "pp_pssl": {"unlabeled_loss", "mask_rate"},
    "distill": {"distillation_loss"},
}


# The strategies that adapt a trained source model: tests/test_time/test_recipes.py runs each.
SOURCE_MODEL_CASES = {"bn_adapt": {}, "tent": dict(epochs=2), "shot": dict(epochs=2)}


def test_every_registered_strategy_has_a_case():
    # "text": test_text_strategy
    assert sorted([*CASES, *SOURCE_MODEL_CASES, "text"]) == sorted(kt.strategies.available())


def _kernel(model, name):
    """The kernel of the convolution `name`, wherever the strategy put the backbone."""
    for layer in model._flatten_layers():
        if layer.name == name:
            return layer.kernel.numpy()
    raise AssertionError(f"no {name} in {model.name}")


@pytest.mark.parametrize("name", list(CASES))
def test_strategy_trains_through_transfer(name):
    backbone = tiny_backbone(SHAPE)
    before = {n: backbone.get_layer(n).kernel.numpy().copy() for n in ("block1_conv", "block3_conv")}
    strategy = kt.strategies.get_strategy(name)
    result = kt.transfer(
        name, backbone, preprocessing="unit", batch_size=8, seed=0, verbose=0, validation_data=(X_VAL, Y_VAL),
        **{**({"epochs": 1, "learning_rate": 0.01} if strategy.trains else {}), **CASES[name]},
    )
    model, history = result
    assert result.strategy is strategy
    # The given backbone is copied, never trained in place.
    for layer_name, kernel in before.items():
        np.testing.assert_array_equal(backbone.get_layer(layer_name).kernel.numpy(), kernel)
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} | EXTRA_KEYS.get(name, set()) <= set(history.history)
    assert all(np.isfinite(v).all() for v in history.history.values())
    probabilities = model.predict(X_VAL, verbose=0)
    assert probabilities.shape == (len(X_VAL), 3)
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-4)
    # The backbone copy keeps the given weights ("imagenet" = keep), then trains unless it is frozen.
    # Gradual unfreezing with 1 head epoch + 1 epoch has unfrozen only the top group.
    frozen = {"feature_extraction": ("block1_conv", "block3_conv"), "prototype": ("block1_conv", "block3_conv"),
              "gradual": ("block1_conv",)}.get(name, ())
    for layer_name, kernel in before.items():
        unchanged = np.array_equal(_kernel(model, layer_name), kernel)
        assert unchanged == (layer_name in frozen), f"{name}: {layer_name} unchanged={unchanged}"
    # The strategy's own layers and models (its `builds`) are what it trained.
    found = {type(layer) for value in [model, *result.details.values()] if isinstance(value, keras.layers.Layer)
             for layer in value._flatten_layers(include_self=True)}
    for cls in strategy.builds:
        if issubclass(cls, keras.layers.Layer):
            assert any(issubclass(f, cls) for f in found), f"{name}: no {cls.__name__} in the result"
    if name == "pp_pssl":  # the intermediate models are handed back
        details = result.details
        assert {"source_classifier", "generator", "fixmatch", "pretrain_history", "generator_history"} <= set(details)
        assert details["source_classifier"].output_shape[-1] == 4  # the source task's classes
        assert details["fixmatch"].model is model
        assert len(details["pretrain_history"].history["loss"]) == 1


@pytest.mark.parametrize("name", ["feature_extraction", "prototype"])
def test_separable_toy_is_learned(name, tmp_path):
    kwargs = dict(metric="euclidean") if name == "prototype" else dict(epochs=40, learning_rate=0.05)
    model, _ = kt.transfer(name, tiny_backbone(SHAPE), (X, Y), preprocessing="unit", seed=0, verbose=0, **kwargs)
    accuracy = np.mean(model.predict(X_VAL, verbose=0).argmax(-1) == Y_VAL)
    assert accuracy >= 0.8, accuracy  # chance: 1/3
    path = str(tmp_path / "model.keras")
    model.save(path)
    np.testing.assert_allclose(keras.models.load_model(path).predict(X_VAL, verbose=0), model.predict(X_VAL, verbose=0), atol=1e-6)


TEXTS = ["good film", "great food", "lovely plot", "superb service", "bad film", "awful food", "poor plot", "dull service"]


def test_text_strategy(tmp_path):
    from tests.text.tiny_preset import make_tiny_preset

    preset = make_tiny_preset(str(tmp_path / "preset"))
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    model, history = kt.transfer(
        "text", preset, (TEXTS, labels), validation_data=(TEXTS[:4], labels[:4]), epochs=2, batch_size=4, seed=0,
        verbose=0,
    )
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(history.history)
    assert model.predict(np.array(["good food", "awful plot"]), verbose=0).shape == (2, 2)  # raw strings in
    assert len(model.trainable_weights) > 2  # freeze=False: the encoder trains, not only the Dense head
    with pytest.raises(ValueError, match=r"`data`.*strings"):
        kt.transfer("text", preset, (np.zeros((8, 4)), labels))
    with pytest.raises(TypeError, match=r"`backbone`.*text preset"):
        kt.transfer("text", tiny_backbone(SHAPE), (TEXTS, labels))


SAVED = [pytest.param("dann", id="dann")] + [
    pytest.param(name, id=name, marks=pytest.mark.large) for name in CASES if name != "dann"
]


@pytest.mark.parametrize("name", SAVED)
def test_the_trained_model_saves_and_loads(name, tmp_path):
    strategy = kt.strategies.get_strategy(name)
    model, _ = kt.transfer(
        name, tiny_backbone(SHAPE), preprocessing="unit", batch_size=8, seed=0, verbose=0,
        **{**({"epochs": 1} if strategy.trains else {}), **CASES[name]},
    )
    path = str(tmp_path / f"{name}.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(X_VAL, verbose=0), model.predict(X_VAL, verbose=0), atol=1e-5)
