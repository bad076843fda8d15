import numpy as np
import pytest

import keras
import keras_transfer as kt
from tests.test_case import TestCase, tiny_classifier, tiny_data


class Snapshots(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.kernels = []

    def on_epoch_end(self, epoch, logs=None):
        self.kernels.append(self.model.backbone.get_layer("block1_conv").kernel.numpy().copy())


class TestFineTune(TestCase):
    def test_head_first_then_everything_with_discriminative_rates(self):
        model = tiny_classifier()
        x, y = tiny_data()
        initial = model.backbone.get_layer("block1_conv").kernel.numpy().copy()
        snapshots = Snapshots()
        history = kt.fine_tune(model, x, y, epochs=2, freeze_epochs=1, base_lr=1e-2, lr_mult=100,
                               callbacks=[snapshots], batch_size=8, verbose=0)
        assert history.history["freeze_stage"] == [0.0, 1.0, 1.0]
        assert "accuracy" in history.history
        self.assertAllEqual(snapshots.kernels[0], initial)
        assert not np.array_equal(snapshots.kernels[1], initial)
        multipliers = model.optimizer.variable_multipliers()
        assert multipliers["block1_conv/kernel"] == pytest.approx(0.01)
        assert float(model.optimizer.learning_rate) == pytest.approx(1e-2)
        assert not model.backbone.get_layer("block1_bn").trainable  # BatchNorm stays frozen

    def test_gradual_option(self):
        model = tiny_classifier()
        x, y = tiny_data()
        history = kt.fine_tune(model, x, y, epochs=3, freeze_epochs=1, gradual=True, verbose=0)
        assert history.history["freeze_stage"] == [0.0, 1.0, 2.0, 3.0]

    def test_default_loss_follows_the_output(self):
        from keras_transfer.fine_tuning.fine_tune import default_loss

        logits = tiny_classifier(activation=None)
        loss = default_loss(logits)
        assert isinstance(loss, keras.losses.SparseCategoricalCrossentropy) and loss.get_config()["from_logits"]
        binary = tiny_classifier(num_classes=1)
        assert isinstance(default_loss(binary), keras.losses.BinaryCrossentropy)

    def test_bad_input(self):
        model = tiny_classifier()
        x, y = tiny_data()
        with pytest.raises(ValueError, match="epochs"):
            kt.fine_tune(model, x, y, epochs=0)
        with pytest.raises(ValueError, match="base_lr"):
            kt.fine_tune(model, x, y, base_lr=-1.0)
        with pytest.raises(TypeError, match="model"):
            kt.fine_tune("vgg16", x, y)


class TestLRFind(TestCase):
    def test_suggests_a_rate_and_leaves_the_model_untouched(self, tmp_path):
        model = tiny_classifier(freeze=False)
        x, y = tiny_data(n=64)
        model.compile(kt.optimizers.GroupOptimizer(keras.optimizers.Adam(3e-4), multipliers={"block1_conv/kernel": 0.1}),
                      "sparse_categorical_crossentropy")
        weights = [v.numpy().copy() for v in model.variables]
        optimizer = model.optimizer
        result = kt.lr_find(model, x, y, num_steps=40, batch_size=16)
        assert model.optimizer is optimizer and int(optimizer.iterations) == 0
        assert float(optimizer.learning_rate) == pytest.approx(3e-4)
        for before, variable in zip(weights, model.variables):
            self.assertAllEqual(variable.numpy(), before)
        assert 1e-7 <= result.suggestion <= 10 and len(result.losses) == len(result.learning_rates) > 5
        assert np.all(np.diff(result.learning_rates) > 0)
        path = str(tmp_path / "lr.png")
        result.plot(path)
        assert open(path, "rb").read(4) == b"\x89PNG"

    def test_suggestion_on_a_problem_with_a_known_good_rate(self):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile("sgd", "mse")
        x = np.random.default_rng(0).normal(size=(512, 3)).astype("float32")
        result = kt.lr_find(model, x, x.sum(1), num_steps=80)
        # Plain SGD on unit-variance linear regression converges for rates of
        # ~1e-2..1 and diverges above ~1.
        assert 1e-2 <= result.suggestion <= 1.0, result.suggestion

    def test_bad_input(self):
        model = tiny_classifier()
        x, y = tiny_data()
        with pytest.raises(ValueError, match="compiled"):
            kt.lr_find(model, x, y)
        model.compile("adam", "sparse_categorical_crossentropy")
        with pytest.raises(ValueError, match="end_lr"):
            kt.lr_find(model, x, y, start_lr=1.0, end_lr=0.1)
        with pytest.raises(ValueError, match="num_steps"):
            kt.lr_find(model, x, y, num_steps=2)


def test_the_strategys_default_epochs_are_sized_to_small_data():
    import keras_transfer as kt

    from tests.strategies.test_transfer import X, X_VAL, Y, Y_VAL
    from tests.test_case import tiny_backbone

    # 24 examples, batch 8: 3 steps an epoch, so 150 steps take 1 head epoch + 50.
    _, history = kt.transfer("fine_tune", tiny_backbone((8, 8, 3)), (X, Y), preprocessing="unit", batch_size=8, verbose=0)
    assert len(history.history["loss"]) == 51
    # With validation data, early stopping on its loss (best weights restored) may end it sooner.
    _, history = kt.transfer("fine_tune", tiny_backbone((8, 8, 3)), (X, Y), preprocessing="unit", batch_size=8, verbose=0,
                             validation_data=(X_VAL, (Y_VAL + 1) % 3))  # labels that training makes worse
    assert len(history.history["loss"]) < 51
    # Given epochs are kept as they are.
    _, history = kt.transfer("gradual", tiny_backbone((8, 8, 3)), (X, Y), preprocessing="unit", batch_size=8, verbose=0, epochs=3)
    assert len(history.history["loss"]) == 3
