import numpy as np
import pytest

import keras
import keras_transfer as kt
from tests.test_case import TestCase, tiny_classifier, tiny_data


def one_step(model, x, y):
    before = {v.path: v.numpy().copy() for v in model.trainable_variables}
    model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    return {p: np.abs(v.numpy() - before[p]) for p, v in ((v.path, v) for v in model.trainable_variables)}


class TestDiscriminativeLR(TestCase):
    def test_adam_update_magnitudes_follow_the_multipliers(self):
        # Adam normalises gradients (its first step is ~lr * sign(g) whatever
        # the gradient's scale), so an implementation that scaled gradients
        # would give both groups the same step and fail this.
        x, y = tiny_data()
        models = {}
        for name, callbacks in (
            ("grouped", [kt.callbacks.DiscriminativeLR({"block3_conv": 1.0, "block2_conv": 0.1})]),
            ("plain", []),
        ):
            keras.utils.set_random_seed(3)
            model = tiny_classifier(freeze=False)
            initial = {v.path: v.numpy().copy() for v in model.trainable_variables}
            model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", jit_compile=True)
            model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, callbacks=callbacks, verbose=0)
            models[name] = {v.path: np.abs(v.numpy() - initial[v.path]) for v in model.trainable_variables}
        grouped, plain = models["grouped"], models["plain"]
        ratio = grouped["block2_conv/kernel"].sum() / plain["block2_conv/kernel"].sum()
        assert abs(ratio - 0.1) < 0.001, ratio
        np.testing.assert_allclose(grouped["block2_conv/kernel"], 0.1 * plain["block2_conv/kernel"], rtol=0.01, atol=1e-9)
        np.testing.assert_allclose(grouped["block3_conv/kernel"], plain["block3_conv/kernel"], rtol=1e-5, atol=1e-9)
        assert plain["block2_conv/kernel"].mean() > 1e-4  # the group did move

    def test_adamw_decoupled_weight_decay_is_scaled_too(self):
        keras.utils.set_random_seed(5)
        a = tiny_classifier(freeze=False)
        keras.utils.set_random_seed(5)
        b = tiny_classifier(freeze=False)
        init = b.backbone.get_layer("block1_conv").kernel.numpy().copy()
        x, y = tiny_data()
        for model, callbacks in ((a, [kt.callbacks.DiscriminativeLR({"block1_conv": 0.25})]), (b, [])):
            model.compile(keras.optimizers.AdamW(1e-2, weight_decay=0.5), "sparse_categorical_crossentropy")
            model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, callbacks=callbacks, verbose=0)
        delta_a = a.backbone.get_layer("block1_conv").kernel.numpy() - init
        delta_b = b.backbone.get_layer("block1_conv").kernel.numpy() - init
        np.testing.assert_allclose(delta_a, 0.25 * delta_b, rtol=1e-4, atol=1e-8)

    def test_decay_reaches_the_optimizer_as_a_geometric_series(self):
        model = tiny_classifier(freeze=False)
        x, y = tiny_data()
        model.compile("adam", "sparse_categorical_crossentropy")
        callback = kt.callbacks.DiscriminativeLR(decay=0.5)
        model.fit(x, y, epochs=1, callbacks=[callback], verbose=0)
        assert callback.group_multipliers == {"block1_conv": 0.125, "block2_conv": 0.25, "block3_conv": 0.5, "head": 1.0}
        multipliers = model.optimizer.variable_multipliers()
        assert multipliers["block1_conv/kernel"] == 0.125
        assert multipliers["block1_bn/gamma"] == 0.125
        assert multipliers["block3_conv/bias"] == 0.5
        assert "predictions/kernel" not in multipliers  # 1.0 is implicit

    def test_lr_range_sets_the_head_rate_like_fastai_slice(self):
        model = tiny_classifier(freeze=False)
        x, y = tiny_data()
        model.compile(keras.optimizers.Adam(5e-2), "sparse_categorical_crossentropy")
        callback = kt.callbacks.DiscriminativeLR(lr_range=(1e-5, 1e-3))
        model.fit(x, y, epochs=1, callbacks=[callback], verbose=0)
        assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)
        self.assertAllClose(list(callback.group_multipliers.values()), [0.01, 10 ** (-4 / 3), 10 ** (-2 / 3), 1.0], rtol=1e-6)

    def test_works_with_learning_rate_schedules_and_scheduler_callbacks(self):
        model = tiny_classifier(freeze=False)
        x, y = tiny_data()
        schedule = keras.optimizers.schedules.ExponentialDecay(1e-2, decay_steps=1, decay_rate=0.5)
        model.compile(keras.optimizers.SGD(schedule), "sparse_categorical_crossentropy")
        model.fit(x, y, epochs=2, callbacks=[kt.callbacks.DiscriminativeLR(decay=0.5)], verbose=0)
        model2 = tiny_classifier(freeze=False)
        model2.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
        scheduler = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 1e-2 / (epoch + 1))
        model2.fit(x, y, epochs=2, callbacks=[kt.callbacks.DiscriminativeLR(decay=0.5), scheduler], verbose=0)
        assert float(model2.optimizer.learning_rate) == pytest.approx(5e-3)

    def test_survives_save_and_load_with_the_optimizer(self, tmp_path):
        model = tiny_classifier(freeze=False)
        x, y = tiny_data()
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(x, y, epochs=1, callbacks=[kt.callbacks.DiscriminativeLR(decay=0.1)], verbose=0)
        path = str(tmp_path / "m.keras")
        model.save(path)
        revived = keras.models.load_model(path)
        assert isinstance(revived.optimizer, kt.optimizers.GroupOptimizer)
        assert revived.optimizer.multipliers == model.optimizer.multipliers
        for a, b in zip(model.optimizer.variables, revived.optimizer.variables):
            self.assertAllEqual(b.numpy(), a.numpy())
        # Continuing trains both models identically.
        model.fit(x, y, epochs=1, shuffle=False, verbose=0)
        revived.fit(x, y, epochs=1, shuffle=False, verbose=0)
        for a, b in zip(model.weights, revived.weights):
            self.assertAllClose(b.numpy(), a.numpy(), atol=1e-6)

    def test_composes_with_freeze_schedule(self):
        model = tiny_classifier()
        x, y = tiny_data()
        model.compile("adam", "sparse_categorical_crossentropy", jit_compile=True)
        callbacks = [kt.callbacks.DiscriminativeLR(decay=0.3), kt.callbacks.FreezeSchedule({1: "all"})]
        before = model.backbone.get_layer("block1_conv").kernel.numpy().copy()
        history = model.fit(x, y, epochs=2, callbacks=callbacks, verbose=0)
        assert history.history["freeze_stage"] == [0.0, 1.0]
        assert not np.array_equal(model.backbone.get_layer("block1_conv").kernel.numpy(), before)
        assert model.optimizer.variable_multipliers()["block1_conv/kernel"] == pytest.approx(0.027)


class TestBadInput:
    def test_exactly_one_mode(self):
        with pytest.raises(ValueError, match="exactly one of `multipliers`, `decay` or `lr_range`"):
            kt.callbacks.DiscriminativeLR()
        with pytest.raises(ValueError, match="Received: decay, lr_range"):
            kt.callbacks.DiscriminativeLR(decay=0.5, lr_range=(1e-4, 1e-3))

    def test_multipliers_must_be_positive_and_finite(self):
        with pytest.raises(ValueError, match=r"multipliers\['head'\].*> 0.*Received: multipliers\['head'\]=0"):
            kt.callbacks.DiscriminativeLR({"head": 0})
        with pytest.raises(ValueError, match=r"finite.*nan"):
            kt.callbacks.DiscriminativeLR({"head": float("nan")})
        with pytest.raises(ValueError, match=r"decay.*<= 1.0"):
            kt.callbacks.DiscriminativeLR(decay=2.0)
        with pytest.raises(ValueError, match=r"lr_range.*lo <= hi"):
            kt.callbacks.DiscriminativeLR(lr_range=(1e-2, 1e-4))

    def test_unknown_group(self):
        model = tiny_classifier()
        model.compile("adam", "sparse_categorical_crossentropy")
        with pytest.raises(ValueError, match=r"Unknown group 'blok1'.*Did you mean.*Available groups"):
            kt.callbacks.DiscriminativeLR({"blok1": 0.1}).set_model(model)

    def test_model_not_compiled(self):
        with pytest.raises(ValueError, match="not compiled"):
            kt.callbacks.DiscriminativeLR(decay=0.5).set_model(tiny_classifier())


def test_each_groups_effective_rate_is_logged_in_the_history():
    model = tiny_classifier(3, freeze=False)
    model.compile(keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(1e-2, 1, 0.5)), "sparse_categorical_crossentropy")
    x, y = tiny_data(16)
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[kt.callbacks.DiscriminativeLR(decay=0.5)])
    logged = {key: values for key, values in history.history.items() if key.startswith("learning_rate/")}
    assert sorted(logged) == [f"learning_rate/{g}" for g in ("block1_conv", "block2_conv", "block3_conv", "head")]
    # The schedule halves the rate each step: 2 steps per epoch, so 1e-2 / 4 after epoch 1, 1e-2 / 16 after epoch 2.
    np.testing.assert_allclose(logged["learning_rate/head"], [1e-2 / 4, 1e-2 / 16], rtol=1e-5)
    np.testing.assert_allclose(logged["learning_rate/block3_conv"], [1e-2 / 8, 1e-2 / 32], rtol=1e-5)
