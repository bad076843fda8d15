"""Reverse validation: the reverse model trains on the forward model's target labels the other way round; a model right
on the target outscores one right on the source only; a strategy by name; the callback's log; bad input."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from tests.test_case import TestCase
from tests.test_case import tiny_backbone


def toy(seed=0, n=200):
    """Source at x0 ~ -2, target at x0 ~ +2; in both the label is x1 > 0."""
    rng = np.random.default_rng(seed)
    x_s = np.stack([rng.normal(-2, 0.5, n), rng.normal(0, 1, n)], axis=1).astype("float32")
    x_t = np.stack([rng.normal(2, 0.5, n), rng.normal(0, 1, n)], axis=1).astype("float32")
    return x_s, (x_s[:, 1] > 0).astype("int64"), x_t, (x_t[:, 1] > 0).astype("int64")


def fitted(x, y, seed=0, epochs=4, hidden=16, num_classes=2):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((x.shape[1],)), keras.layers.Dense(hidden, activation="relu"),
                              keras.layers.Dense(num_classes, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.02), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=epochs, batch_size=8, verbose=0)
    return model


def plain_fit(source, target):
    """The 'method' of the toy: a seeded fit on the labelled domain (the unlabelled one unused)."""
    return fitted(*source, seed=1, epochs=3)


class TestReverseValidation(TestCase):
    def test_the_reverse_model_trains_on_the_pseudo_labels_the_other_way_round(self):
        x_s, y_s, x_t, _ = toy()
        forward = fitted(x_s, y_s)
        seen = {}

        def spy(source, target):
            seen["source"], seen["target"] = source, target
            return plain_fit(source, target)

        value, details = kt.domain_adaptation.reverse_validation(
            forward, spy, source=(x_s[:150], np.full(150, 7)), target=x_t, validation_data=(x_s[150:], y_s[150:]),
            return_details=True)
        expected_labels = forward.predict(x_t, verbose=0).argmax(-1)
        self.assertAllEqual(seen["source"][0], x_t)
        self.assertAllEqual(seen["source"][1], expected_labels)  # the forward model's labels, not the source's
        self.assertAllEqual(details["pseudo_labels"], expected_labels)
        self.assertAllEqual(seen["target"], x_s[:150])  # the source inputs, their labels (7) never passed on
        reverse = details["reverse_model"]
        accuracy = np.mean(reverse.predict(x_s[150:], verbose=0).argmax(-1) == y_s[150:])
        assert value == pytest.approx(accuracy) == pytest.approx(details["accuracy"])
        probabilities = reverse.predict(x_s[150:], verbose=0)
        loss = -np.mean(np.log(np.clip(probabilities[np.arange(50), y_s[150:]], 1e-7, 1)))
        assert details["loss"] == pytest.approx(loss, rel=1e-5)
        assert details["result"] is None

    def test_a_model_right_on_the_target_outscores_one_right_on_the_source_only(self):
        x_s, y_s, x_t, y_t = toy()
        wrong = np.where(x_t[:, 1] > 0.5, 0, y_t)  # wrong on about 30% of the target
        adapted = fitted(np.concatenate([x_s, x_t]), np.concatenate([y_s, y_t]))
        unadapted = fitted(np.concatenate([x_s, x_t]), np.concatenate([y_s, wrong]))
        val = (x_s[150:], y_s[150:])
        for model in (adapted, unadapted):  # both right on the source: its accuracy cannot tell them apart
            assert np.mean(model.predict(val[0], verbose=0).argmax(-1) == val[1]) > 0.95
        (good, good_details), (bad, bad_details) = [
            kt.domain_adaptation.reverse_validation(m, plain_fit, source=x_s[:150], target=x_t, validation_data=val,
                                                    return_details=True) for m in (adapted, unadapted)]
        assert good > 0.9 and good > bad + 0.1, (good, bad)
        assert good_details["loss"] < bad_details["loss"]

    def test_a_strategy_by_name_trains_through_transfer_with_the_forward_models_classes(self):
        rng = np.random.default_rng(0)
        x_s, x_t = rng.uniform(0, 255, (24, 8, 8, 3)), rng.uniform(0, 255, (24, 8, 8, 3))
        y_s = np.arange(24) % 3
        # A forward model that never predicts class 2: the reverse model still has 3 outputs.
        forward = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.GlobalAveragePooling2D(),
                                    keras.layers.Dense(3, activation="softmax", bias_initializer="zeros")])
        forward.layers[-1].set_weights([np.zeros((3, 3)), np.array([0.0, 1.0, -5.0])])
        value, details = kt.domain_adaptation.reverse_validation(
            forward, "dann", backbone=tiny_backbone(), source=x_s, target=x_t, validation_data=(x_s[:8], y_s[:8]),
            epochs=1, batch_size=8, weights=None, preprocessing="unit", verbose=0, seed=0, return_details=True)
        assert details["result"].strategy.name == "dann"
        assert set(details["pseudo_labels"]) == {1}
        reverse = details["reverse_model"]
        assert reverse.output_shape[-1] == 3
        assert len(details["result"].history.history["loss"]) == 1
        assert value == pytest.approx(np.mean(reverse.predict(x_s[:8], verbose=0).argmax(-1) == y_s[:8]))

    def test_bad_input_named_before_any_training(self):
        x_s, y_s, x_t, _ = toy(n=20)
        forward = fitted(x_s, y_s, epochs=1)
        calls = []

        def spy(source, target):
            calls.append(1)
            return forward

        good = dict(source=x_s, target=x_t, validation_data=(x_s, y_s))
        cases = [
            (dict(good, model="model"), TypeError, "model"),
            (dict(good, train=3), TypeError, "train"),
            (dict(good, train="fine_tune", backbone=tiny_backbone()), ValueError, "train"),
            (dict(good, train="dann"), ValueError, "backbone"),
            (dict(good, backbone=tiny_backbone()), ValueError, "backbone"),
            (dict(good, epochs=3), ValueError, "epochs"),
            (dict(good, target=x_t[:, :1]), ValueError, "target"),
            (dict(good, target=np.zeros((0, 2))), ValueError, "target"),
            (dict(good, source="x"), TypeError, "source"),
            (dict(good, validation_data=x_s), TypeError, "validation_data"),
            (dict(good, validation_data=(x_s, y_s[:5])), ValueError, "validation_data"),
            (dict(good, validation_data=(x_s[:, :1], y_s)), ValueError, "validation_data"),
            (dict(good, metric="auc"), ValueError, "metric"),
            (dict(good, batch_size=0), ValueError, "batch_size"),
        ]
        for kwargs, error, name in cases:
            kwargs = {"model": forward, "train": spy, **kwargs}
            with pytest.raises(error, match=f"`{name}`"):
                kt.domain_adaptation.reverse_validation(kwargs.pop("model"), kwargs.pop("train"), **kwargs)
        assert not calls
        with pytest.raises(TypeError, match="`train`"):
            kt.domain_adaptation.reverse_validation(forward, lambda source, target: "trained", **good)
        one_output = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
        with pytest.raises(ValueError, match="`model`"):
            kt.domain_adaptation.reverse_validation(one_output, spy, **good)


class TestReverseValidationCallback(TestCase):
    def test_logged_every_frequency_epochs_for_checkpoints(self):
        x_s, y_s, x_t, _ = toy()
        model = fitted(x_s[:150], y_s[:150], epochs=1)
        check = kt.callbacks.ReverseValidation(plain_fit, source=x_s[:150], target=x_t,
                                               validation_data=(x_s[150:], y_s[150:]), frequency=2)
        path = self.tmp_path_str("best.keras")
        best = keras.callbacks.ModelCheckpoint(path, monitor="val_reverse_accuracy", mode="max", save_best_only=True)
        logged = []
        spy = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: logged.append(
            logs.get("val_reverse_accuracy")))
        with pytest.warns(UserWarning, match="val_reverse_accuracy"):  # ModelCheckpoint on the skipped epochs
            model.fit(x_s[:150], y_s[:150], epochs=4, verbose=0, callbacks=[check, best, spy])
        assert [v is None for v in logged] == [True, False, True, False]
        expected = kt.domain_adaptation.reverse_validation(model, plain_fit, source=x_s[:150], target=x_t,
                                                           validation_data=(x_s[150:], y_s[150:]))
        assert logged[-1] == pytest.approx(expected)
        assert check.reverse_model is not None and keras.models.load_model(path) is not None

    def test_bad_input_named(self):
        x_s, y_s, x_t, _ = toy(n=20)
        good = dict(source=x_s, target=x_t, validation_data=(x_s, y_s))
        for kwargs, error, name in [(dict(frequency=0), ValueError, "frequency"), (dict(name=""), TypeError, "name"),
                                    (dict(metric="auc"), ValueError, "metric"),
                                    (dict(target=x_t[:, :1]), ValueError, "target")]:
            with pytest.raises(error, match=f"`{name}`"):
                kt.callbacks.ReverseValidation(plain_fit, **{**good, **kwargs})
