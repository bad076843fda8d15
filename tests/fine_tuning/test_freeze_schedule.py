import numpy as np
import pytest

import keras
import keras_transfer as kt
from tests.test_case import TestCase, tiny_classifier, tiny_data

GROUPS = ["block1_conv", "block2_conv", "block3_conv", "head"]


def kernel(model, name):
    return model.backbone.get_layer(name).kernel.numpy().copy()


class Recorder(keras.callbacks.Callback):
    """Records kernels and the head's Adam moments at every epoch boundary."""

    def __init__(self):
        super().__init__()
        self.begin, self.end, self.moments_end, self.moments_begin = [], [], [], []

    def _head_momentum(self):
        for variable in self.model.optimizer.variables:
            if variable.path.endswith("predictions_kernel_momentum"):
                return variable.numpy().copy()

    def on_epoch_begin(self, epoch, logs=None):
        self.begin.append({n: kernel(self.model, n) for n in ("block2_conv", "block3_conv")})
        self.moments_begin.append(self._head_momentum())

    def on_epoch_end(self, epoch, logs=None):
        self.end.append({n: kernel(self.model, n) for n in ("block2_conv", "block3_conv")})
        self.moments_end.append(self._head_momentum())


class TestFreezeSchedule(TestCase):
    def test_groups_train_from_their_epoch_with_xla_and_adam_keeps_its_state(self):
        model = tiny_classifier()
        x, y = tiny_data()
        model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", jit_compile=True)
        recorder = Recorder()
        schedule = kt.callbacks.FreezeSchedule({2: ["block3_conv"], 3: ["block2_conv"]})
        history = model.fit(x, y, batch_size=8, epochs=4, callbacks=[schedule, recorder], verbose=0)
        assert model.jit_compile is True
        for epoch in range(4):
            b3_changed = not np.array_equal(recorder.begin[epoch]["block3_conv"], recorder.end[epoch]["block3_conv"])
            b2_changed = not np.array_equal(recorder.begin[epoch]["block2_conv"], recorder.end[epoch]["block2_conv"])
            assert b3_changed == (epoch >= 2), f"block3 at epoch {epoch}"
            assert b2_changed == (epoch >= 3), f"block2 at epoch {epoch}"
        # The head trained from epoch 0; its Adam moments survive each stage change.
        for epoch in (2, 3):
            assert np.abs(recorder.moments_begin[epoch]).sum() > 0
            self.assertAllEqual(recorder.moments_begin[epoch], recorder.moments_end[epoch - 1])
        assert history.history["freeze_stage"] == [0.0, 0.0, 1.0, 2.0]
        assert int(model.optimizer.iterations) == 8

    def test_one_retrace_per_stage_change(self):
        model = tiny_classifier()
        x, y = tiny_data()
        model.compile("adam", "sparse_categorical_crossentropy", jit_compile=False)
        traces = []
        original = model.train_step

        def counting_train_step(data):
            traces.append(1)
            return original(data)

        model.train_step = counting_train_step
        schedule = kt.callbacks.FreezeSchedule({1: ["block3_conv"], 3: "all"})
        model.fit(x, y, batch_size=8, epochs=5, callbacks=[schedule], verbose=0)
        assert schedule.retraces == 2
        assert len(traces) == 1 + 2

    def test_batchnorm_of_frozen_and_unfrozen_groups(self):
        for train_batchnorm in (False, True):
            model = tiny_classifier()
            x, y = tiny_data()
            bn = model.backbone.get_layer("block3_bn")
            moving = bn.moving_mean.numpy().copy()
            model.compile("adam", "sparse_categorical_crossentropy")
            schedule = kt.callbacks.FreezeSchedule({1: ["block3_conv"]}, train_batchnorm=train_batchnorm)
            stats = []
            probe = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: stats.append(bn.moving_mean.numpy().copy()))
            model.fit(x, y, batch_size=8, epochs=2, callbacks=[schedule, probe], verbose=0)
            self.assertAllEqual(stats[0], moving)  # frozen group: inference mode
            assert np.array_equal(stats[1], moving) is (not train_batchnorm)
            assert bn.trainable is train_batchnorm
            assert model.backbone.get_layer("block3_conv").trainable

    def test_step_unit_changes_stage_mid_epoch(self):
        model = tiny_classifier()
        x, y = tiny_data()
        model.compile("adam", "sparse_categorical_crossentropy")
        before = kernel(model, "block3_conv")
        seen = []
        probe = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(kernel(model, "block3_conv")))
        schedule = kt.callbacks.FreezeSchedule({3: ["block3_conv"]}, unit="step")
        model.fit(x, y, batch_size=4, epochs=1, callbacks=[schedule, probe], verbose=0)
        assert all(np.array_equal(k, before) for k in seen[:3])
        assert not np.array_equal(seen[3], before)

    def test_gradual_unfreezes_one_group_per_period_from_the_head(self):
        model = tiny_classifier()
        x, y = tiny_data()
        model.compile("adam", "sparse_categorical_crossentropy")
        schedule = kt.callbacks.FreezeSchedule.gradual(every=2, start=1)
        model.fit(x, y, batch_size=8, epochs=1, callbacks=[schedule], verbose=0)
        assert schedule.schedule == [(1, ["block3_conv"]), (3, ["block2_conv"]), (5, ["block1_conv"])]

    def test_unnamed_groups_keep_their_trainability(self):
        model = tiny_classifier(freeze=["block1_conv"])  # block2/3 train from the start
        x, y = tiny_data()
        model.compile("adam", "sparse_categorical_crossentropy")
        before = kernel(model, "block2_conv")
        model.fit(x, y, epochs=1, callbacks=[kt.callbacks.FreezeSchedule({5: ["block1_conv"]})], verbose=0)
        assert not np.array_equal(kernel(model, "block2_conv"), before)
        assert not model.backbone.get_layer("block1_conv").trainable

    def test_resume_with_backup_and_restore_matches_an_uninterrupted_run(self, tmp_path):
        x, y = tiny_data(n=16)

        def run(callbacks, epochs=4):
            keras.utils.set_random_seed(7)
            model = tiny_classifier()
            model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
            schedule = kt.callbacks.FreezeSchedule({1: ["block3_conv"], 2: "all"})
            model.fit(x, y, batch_size=8, epochs=epochs, shuffle=False, callbacks=[*callbacks, schedule], verbose=0)
            return model

        reference = run([])

        class Crash(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if epoch == 1:
                    raise RuntimeError("simulated crash")

        backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
        with pytest.raises(RuntimeError, match="simulated crash"):
            run([backup, Crash()])
        resumed = run([keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))])
        for a, b in zip(reference.weights, resumed.weights):
            self.assertAllClose(b.numpy(), a.numpy(), atol=1e-6, msg=a.path)

    def test_checkpoint_mid_schedule_loads_and_continues(self, tmp_path):
        x, y = tiny_data()
        model = tiny_classifier()
        model.compile("adam", "sparse_categorical_crossentropy")
        path = str(tmp_path / "epoch{epoch}.keras")
        schedule = kt.callbacks.FreezeSchedule({1: ["block3_conv"], 3: "all"})
        model.fit(x, y, epochs=2, callbacks=[schedule, keras.callbacks.ModelCheckpoint(path)], verbose=0)
        revived = keras.models.load_model(str(tmp_path / "epoch2.keras"))
        assert isinstance(revived.optimizer, kt.optimizers.GroupOptimizer)
        assert int(revived.optimizer.iterations) == int(model.optimizer.iterations)
        history = revived.fit(
            x, y, epochs=4, initial_epoch=2,
            callbacks=[kt.callbacks.FreezeSchedule({1: ["block3_conv"], 3: "all"})], verbose=0,
        )
        assert history.history["freeze_stage"] == [1.0, 2.0]
        assert revived.backbone.get_layer("block1_conv").trainable

    def test_mixed_precision(self):
        keras.config.set_dtype_policy("mixed_float16")
        model = tiny_classifier()
        x, y = tiny_data()
        model.compile("adam", "sparse_categorical_crossentropy")
        history = model.fit(x, y, epochs=2, callbacks=[kt.callbacks.FreezeSchedule({1: "all"})], verbose=0)
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        assert np.isfinite(history.history["loss"]).all()
        assert model.predict(x[:2], verbose=0).dtype == np.float32


class TestBadInput:
    def test_unknown_group_lists_the_available_ones(self):
        model = tiny_classifier()
        model.compile("adam", "sparse_categorical_crossentropy")
        x, y = tiny_data()
        with pytest.raises(ValueError, match=r"Unknown group 'block5'.*Available groups: block1_conv, block2_conv, block3_conv, head, or \"all\" for every group"):
            model.fit(x, y, callbacks=[kt.callbacks.FreezeSchedule({1: ["block5"]})], verbose=0)

    def test_schedule_keys(self):
        with pytest.raises(ValueError, match=r"schedule.*>= 0.*Key -1"):
            kt.callbacks.FreezeSchedule({-1: "all"})
        with pytest.raises(ValueError, match=r"schedule.*strictly increasing"):
            kt.callbacks.FreezeSchedule([(2, ["a"]), (1, ["b"])])
        with pytest.raises(TypeError, match=r"schedule.*integer"):
            kt.callbacks.FreezeSchedule({1.5: "all"})
        with pytest.raises(TypeError, match=r"schedule"):
            kt.callbacks.FreezeSchedule({1: 3})
        with pytest.raises(ValueError, match=r"unit"):
            kt.callbacks.FreezeSchedule({1: "all"}, unit="batch")

    def test_model_not_compiled(self):
        model = tiny_classifier()
        with pytest.raises(ValueError, match="not compiled"):
            kt.callbacks.FreezeSchedule({1: "all"}).set_model(model)
