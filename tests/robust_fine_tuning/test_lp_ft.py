"""LP-FT: the probe stops on validation loss with its best head, then every layer fine-tunes."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from tests.strategies.test_transfer import X, X_VAL, Y, Y_VAL
from tests.test_case import tiny_backbone

rft = kt.robust_fine_tuning


def classifier():
    keras.utils.set_random_seed(0)
    return kt.build_classifier(tiny_backbone((8, 8, 3)), 3, input_shape=(8, 8, 3), preprocessing="unit", freeze=False)


def backbone_weights(model):
    return [w.numpy().copy() for w in model.feature_extractor.weights]


class HeadRecorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.heads = []

    def on_epoch_end(self, epoch, logs=None):
        self.heads.append([w.copy() for w in self.model.layers[-1].get_weights()])


def test_linear_probe_stops_on_validation_loss_and_keeps_the_best_head():
    model = classifier()
    before = backbone_weights(model)
    # Labels unrelated to the validation set's: the validation loss soon rises, the probe stops long before 60.
    history = rft.linear_probe(model, X, Y, validation_data=(X_VAL, (Y_VAL + 1) % 3), epochs=60, patience=2,
                               learning_rate=0.05)
    losses = history.history["val_loss"]
    assert len(losses) < 60
    assert history.best_epoch == int(np.argmin(losses))
    assert len(losses) == history.best_epoch + 3  # stopped `patience` epochs after the best
    # The backbone is frozen (even though the model was built trainable); the kept head is the best epoch's.
    for now, then in zip(backbone_weights(model), before):
        np.testing.assert_array_equal(now, then)
    best = model.evaluate(X_VAL, (Y_VAL + 1) % 3, verbose=0, return_dict=True)["loss"]
    assert best == pytest.approx(min(losses), rel=1e-4)


def test_lp_ft_fine_tunes_every_layer_from_the_probed_head():
    model = classifier()
    before = backbone_weights(model)
    result = rft.lp_ft(model, X, Y, validation_data=(X_VAL, Y_VAL), epochs=2, probe_epochs=4, patience=1, base_lr=1e-3)
    assert isinstance(result, rft.LPFTResult)
    assert 1 <= result.probe_epochs <= 4 and len(result.probe_history.history["loss"]) <= 4
    assert len(result.history.history["loss"]) == 2
    assert result.history.history["freeze_stage"] == [1.0, 1.0]  # everything trains from the first epoch
    changed = [not np.array_equal(now, then) for now, then in zip(backbone_weights(model), before)]
    assert any(changed)
    # One rate for every group (lr_mult=1, as in the paper).
    assert set(model.optimizer.variable_multipliers().values()) <= {1.0}


def test_bad_input_is_refused_before_training():
    model = classifier()
    with pytest.raises(ValueError, match="`validation_data`"):
        rft.lp_ft(model, X, Y, validation_data=None)
    with pytest.raises(ValueError, match="`patience`"):
        rft.linear_probe(model, X, Y, validation_data=(X_VAL, Y_VAL), patience=-1)
    with pytest.raises(ValueError, match="`y`"):
        rft.linear_probe(model, X, Y[:5], validation_data=(X_VAL, Y_VAL))
    with pytest.raises(TypeError, match="`model`"):
        rft.lp_ft("vgg16", X, Y, validation_data=(X_VAL, Y_VAL))


def test_strategies_hold_out_a_stratified_validation_split_when_none_is_given():
    result = kt.transfer("wise_ft", tiny_backbone((8, 8, 3)), (X, Y), preprocessing="unit", epochs=1, seed=0,
                         verbose=0, probe_epochs=2, patience=1, alphas=(0.0, 1.0))
    assert result.details["alpha"] in (0.0, 1.0)
    assert set(result.details["scores"]) == {0.0, 1.0}
    soup = kt.transfer("model_soup", tiny_backbone((8, 8, 3)), (X, Y), preprocessing="unit", epochs=1, seed=0,
                       verbose=0, probe_epochs=2, patience=1, ingredients=3, recipe="uniform")
    assert len(soup.details["ingredients"]) == 3
    for option, value in (("alphas", [0.5, 3.0]), ("probe_lr", -1.0), ("probe_epochs", 0)):
        with pytest.raises(ValueError, match=f"`{option}`"):  # named, and raised before any training
            kt.transfer("wise_ft", tiny_backbone((8, 8, 3)), (X, Y), epochs=1, verbose=0, **{option: value})
    with pytest.raises(ValueError, match="`recipe`"):
        kt.transfer("model_soup", tiny_backbone((8, 8, 3)), (X, Y), recipe="best")
