"""LwFModel: the old head keeps the source model's answers while the trunk learns the target task."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from tests.regularizers.nets import X, Y, features, save_and_load, trunk_and_heads
from tests.test_case import TestCase


def _old_head_drift(lwf, epochs=8):
    """Mean |change| of the old head's probabilities after fine-tuning (LwF or plain)."""
    source, target = trunk_and_heads()
    before = source.predict(X, verbose=0)
    if lwf:
        model = kt.models.LwFModel(target, source, alpha=1.0, temperature=2.0)
        model.compile(keras.optimizers.Adam(0.05), metrics=["accuracy"])
        model.fit(X, Y, batch_size=16, epochs=epochs, shuffle=False, verbose=0)
        after = model.source_outputs(X).numpy()
    else:  # plain fine-tuning: the old head, unchanged, on the fine-tuned trunk
        target.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
        target.fit(X, Y, batch_size=16, epochs=epochs, shuffle=False, verbose=0)
        after = source.predict(X, verbose=0)
    return float(np.abs(after - before).mean())


class TestLwFModel(TestCase):
    def test_the_old_head_moves_less_than_under_plain_fine_tuning(self):
        lwf, plain = _old_head_drift(True), _old_head_drift(False)
        assert lwf < 0.5 * plain, (lwf, plain)

    def test_penalty_is_the_tempered_kl_to_the_frozen_source(self):
        source, target = trunk_and_heads()
        model = kt.models.LwFModel(target, source, alpha=0.5, temperature=2.0)
        assert model.penalty(X) < 1e-6  # nothing moved
        kernel, bias = model.source_head.get_weights()
        kernel = kernel + np.random.default_rng(1).normal(0, 0.5, kernel.shape).astype("float32")
        model.source_head.set_weights([kernel, bias])
        teacher = source.predict(X, verbose=0)  # the source model itself never changed
        z = np.log(teacher) / 2.0
        p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
        logits = features(target, X) @ kernel + bias
        s = logits / 2.0 - np.log(np.exp(logits / 2.0).sum(-1, keepdims=True))
        expected = 0.5 * np.mean(np.sum(p * (np.log(p) - s), axis=-1))
        assert model.penalty(X) == pytest.approx(expected, rel=1e-4)

    def test_trains_the_trunk_both_heads_and_never_the_source_model(self):
        source, target = trunk_and_heads()
        model = kt.models.LwFModel(target, source)
        reference = [w.copy() for w in model.source_model.get_weights()]
        head = model.source_head.get_weights()[0].copy()
        model.compile(keras.optimizers.Adam(0.05), jit_compile=True)
        history = model.fit(X, Y, batch_size=8, epochs=2, verbose=0, validation_data=(X, Y))
        assert {"loss", "lwf_loss", "val_loss"} <= set(history.history)
        assert "val_lwf_loss" not in history.history
        for a, b in zip(reference, model.source_model.get_weights()):
            self.assertAllEqual(a, b)
        assert not np.allclose(head, model.source_head.get_weights()[0])
        assert len(model.trainable_weights) == 6  # trunk, new head, old head

    def test_save_load_round_trip_and_continue(self):
        source, target = trunk_and_heads()
        model = kt.models.LwFModel(target, source)
        model.compile("adam")
        model.fit(X, Y, epochs=1, verbose=0)
        revived = save_and_load(model, self.tmp_path_str("lwf.keras"))
        assert isinstance(revived, kt.models.LwFModel)
        self.assertAllClose(revived.predict(X, verbose=0), model.predict(X, verbose=0))
        assert revived.penalty(X) == pytest.approx(model.penalty(X), rel=1e-5, abs=1e-8)
        revived.fit(X, Y, epochs=1, verbose=0)

    def test_bad_input_is_named(self):
        source, target = trunk_and_heads()
        with pytest.raises(TypeError, match="`source_model`"):
            kt.models.LwFModel(target, "source.keras")
        other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6), keras.layers.Dense(5)])
        with pytest.raises(ValueError, match="`source_model`.*shape"):
            kt.models.LwFModel(target, other)
        with pytest.raises(ValueError, match="`temperature`"):
            kt.models.LwFModel(target, source, temperature=0.0)
        with pytest.raises(TypeError, match="`model`"):
            kt.models.LwFModel(keras.layers.Dense(3), source)
