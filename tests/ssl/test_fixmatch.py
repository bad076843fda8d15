import keras
import numpy as np
import pytest

import keras_transfer as kt
from tests.generative import tiny
from tests.test_case import TestCase


def _psg(classes=3, seed=0):
    return kt.layers.PseudoSSLGenerator(tiny.generator(classes=classes), tiny.classifier(classes), seed=seed)


def _labelled(n=6, classes=2):
    return tiny.images(n, seed=1), np.arange(n) % classes


class TestFixMatchLoss(TestCase):
    def test_losses_and_mask_match_the_definition(self):
        model = tiny.classifier(2)
        x_l, y = _labelled(6)
        x_u = tiny.images(6, seed=2)
        p_l, p_u = model.predict(x_l, verbose=0), model.predict(x_u, verbose=0)
        threshold = float(np.median(p_u.max(-1)))
        fixmatch = kt.ssl.FixMatch(
            model, weak_augmentation=None, strong_augmentation=None, threshold=threshold, unlabeled_weight=0.7
        )
        fixmatch.compile(optimizer=keras.optimizers.SGD(0.0))
        history = fixmatch.fit((x_l, x_u), y, batch_size=6, epochs=1, verbose=0).history
        supervised = -np.log(p_l[np.arange(6), y]).mean()
        mask = p_u.max(-1) >= threshold
        unlabeled = (-np.log(p_u.max(-1)) * mask).mean()
        assert 0 < mask.mean() < 1
        self.assertAllClose(history["mask_rate"][0], mask.mean(), atol=1e-6)
        self.assertAllClose(history["unlabeled_loss"][0], unlabeled, atol=1e-5)
        self.assertAllClose(history["loss"][0], supervised + 0.7 * unlabeled, atol=1e-5)

    def test_logits_model(self):
        model = tiny.classifier(2, activation=None)
        fixmatch = kt.ssl.FixMatch(model, weak_augmentation=None, strong_augmentation=None, threshold=0.0)
        fixmatch.compile(optimizer=keras.optimizers.SGD(0.0))
        x_l, y = _labelled(4)
        logits = model.predict(x_l, verbose=0)
        log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        history = fixmatch.fit((x_l, x_l), y, batch_size=4, verbose=0).history
        self.assertAllClose(history["unlabeled_loss"][0], -log_p.max(-1).mean(), atol=1e-5)
        self.assertAllClose(history["loss"][0], -log_p[np.arange(4), y].mean() - log_p.max(-1).mean(), atol=1e-5)


class TestPseudoSSL(TestCase):
    def test_unlabelled_images_are_generated_from_the_labelled_batch(self):
        psg = _psg()
        fixmatch = kt.ssl.FixMatch(tiny.classifier(2), pseudo_generator=psg, unlabeled_ratio=3)
        assert tuple(fixmatch.unlabeled_images(tiny.images(4), None).shape) == (12, 8, 8, 1)
        assert tuple(fixmatch.unlabeled_images(tiny.images(4), tiny.images(5)).shape) == (5, 8, 8, 1)

    def test_whole_pssl_step_compiles_and_trains_only_the_target(self):
        psg = _psg()
        model = tiny.conv_classifier(2)
        fixmatch = kt.ssl.FixMatch(model, pseudo_generator=psg, threshold=0.0, unlabeled_ratio=2, seed=0)
        fixmatch.compile(optimizer="adam", metrics=["accuracy"], jit_compile=True)
        assert {id(v) for v in fixmatch.trainable_variables} == {id(v) for v in model.trainable_variables}
        frozen = tiny.weights_of(psg.generator) + tiny.weights_of(psg.source_classifier)
        before = tiny.weights_of(model)
        x, y = _labelled(8)
        history = fixmatch.fit(x, y, batch_size=4, epochs=1, verbose=0).history
        assert history["mask_rate"][0] == 1.0 and np.isfinite(history["unlabeled_loss"][0])
        assert tiny.changed(before, model)
        after = tiny.weights_of(psg.generator) + tiny.weights_of(psg.source_classifier)
        assert all(np.array_equal(a, b) for a, b in zip(frozen, after))

    @pytest.mark.parametrize("policy, jit", tiny.PRECISION_AXES)
    def test_mixed_precision(self, policy, jit):
        keras.config.set_dtype_policy(policy)
        fixmatch = kt.ssl.FixMatch(tiny.conv_classifier(2), pseudo_generator=_psg(), threshold=0.0, unlabeled_ratio=2)
        fixmatch.compile(optimizer="adam", jit_compile=jit)
        x, y = _labelled(4)
        history = fixmatch.fit(x, y, batch_size=4, epochs=1, verbose=0).history
        assert all(np.isfinite(v[0]) for v in history.values())
        assert fixmatch.predict(x, verbose=0).dtype == np.float32


class TestFitContract(TestCase):
    def test_metrics_validation_callbacks_and_plain_predict(self):
        fixmatch = kt.ssl.FixMatch(tiny.classifier(2), pseudo_generator=_psg(classes=3), unlabeled_ratio=2)
        fixmatch.compile(optimizer="adam", metrics=["accuracy"])
        seen = []
        callback = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(sorted(logs)))
        x, y = _labelled(6)
        history = fixmatch.fit(x, y, batch_size=3, epochs=2, validation_data=(x, y), callbacks=[callback], verbose=0)
        keys = ["accuracy", "loss", "mask_rate", "unlabeled_loss", "val_accuracy", "val_loss"]
        assert sorted(history.history) == keys and seen == [keys, keys]
        assert set(fixmatch.evaluate(x, y, verbose=0, return_dict=True)) == {"accuracy", "loss"}
        self.assertAllClose(fixmatch.predict(x, verbose=0), fixmatch.model.predict(x, verbose=0))

    def test_sample_weight_weights_the_labelled_loss(self):
        model = tiny.classifier(2)
        fixmatch = kt.ssl.FixMatch(model, unlabeled_weight=0.0)
        fixmatch.compile(optimizer=keras.optimizers.SGD(0.5))
        x, y = _labelled(4)
        before = tiny.weights_of(model)
        fixmatch.fit((x, x), y, sample_weight=np.zeros(4), batch_size=4, verbose=0)
        assert not tiny.changed(before, model)
        fixmatch.fit((x, x), y, sample_weight=np.ones(4), batch_size=4, verbose=0)
        assert tiny.changed(before, model)

    def test_dict_inputs_and_ssl_dataset(self):
        fixmatch = kt.ssl.FixMatch(tiny.classifier(2))
        fixmatch.compile(optimizer="adam")
        x, y = _labelled(8)
        fixmatch.fit({"labeled": x, "unlabeled": x}, y, batch_size=4, verbose=0)
        dataset = kt.ssl.ssl_dataset((x, y), tiny.images(24), batch_size=2, unlabeled_ratio=3, seed=0)
        fixmatch.fit(dataset, epochs=1, verbose=0)
        assert int(fixmatch.optimizer.iterations.numpy()) == 2 + 4

    def test_checkpoint_load_without_custom_objects_and_continue(self):
        fixmatch = kt.ssl.FixMatch(tiny.classifier(2), pseudo_generator=_psg(classes=3, seed=5), unlabeled_ratio=2, seed=1)
        fixmatch.compile(optimizer="adam", metrics=["accuracy"])
        x, y = _labelled(6)
        path = self.tmp_path_str("fixmatch.keras")
        fixmatch.fit(x, y, batch_size=3, epochs=1, verbose=0, callbacks=[keras.callbacks.ModelCheckpoint(path)])
        revived = keras.models.load_model(path)
        assert isinstance(revived, kt.ssl.FixMatch) and isinstance(revived.pseudo_generator, kt.layers.PseudoSSLGenerator)
        self.assertAllClose(revived.predict(x, verbose=0), fixmatch.predict(x, verbose=0), atol=1e-6)
        for a, b in [(revived.pseudo_generator, fixmatch.pseudo_generator),
                     (revived.strong_augmentation, fixmatch.strong_augmentation)]:
            self.assertAllEqual(a.seed_generator.state.numpy(), b.seed_generator.state.numpy())
        assert int(revived.optimizer.iterations.numpy()) == 2
        history = revived.fit(x, y, batch_size=3, epochs=1, verbose=0).history
        assert int(revived.optimizer.iterations.numpy()) == 4 and sorted(history) == [
            "accuracy", "loss", "mask_rate", "unlabeled_loss"]

    def test_keras_augmentation_layers_without_xla(self):
        strong = keras.Sequential([keras.layers.RandomRotation(0.1, seed=0), keras.layers.RandomTranslation(0.1, 0.1, seed=0)])
        fixmatch = kt.ssl.FixMatch(tiny.classifier(2), strong_augmentation=strong, threshold=0.0)
        fixmatch.compile(optimizer="adam", jit_compile=False)
        x, y = _labelled(4)
        history = fixmatch.fit((x, x), y, batch_size=4, verbose=0).history
        assert np.isfinite(history["unlabeled_loss"][0]) and history["unlabeled_loss"][0] > 0


class TestFixMatchBadInput:
    def test_no_unlabelled_data(self):
        fixmatch = kt.ssl.FixMatch(tiny.classifier(2))
        fixmatch.compile(optimizer="adam")
        with pytest.raises(ValueError, match=r"needs unlabelled images.*pseudo_generator"):
            fixmatch.fit(*_labelled(4), batch_size=4, verbose=0)

    def test_pseudo_generator_incompatible_with_the_model(self):
        psg = kt.layers.PseudoSSLGenerator(tiny.generator(), tiny.classifier(), target_shape=(8, 8, 3))
        with pytest.raises(ValueError, match=r"pseudo_generator.*\(8, 8, 3\).*\(8, 8, 1\)"):
            kt.ssl.FixMatch(tiny.classifier(2), pseudo_generator=psg)
        wide = tiny.classifier(2, shape=(8, 8, 2))
        with pytest.raises(ValueError, match=r"pseudo_generator.*\(8, 8, 2\).*\(8, 8, 1\)"):
            kt.ssl.FixMatch(wide, pseudo_generator=_psg())

    @pytest.mark.parametrize(
        "kwargs, error, match",
        [
            ({"threshold": 1.5}, ValueError, "threshold"),
            ({"unlabeled_ratio": 0}, ValueError, "unlabeled_ratio"),
            ({"unlabeled_weight": -1.0}, ValueError, "unlabeled_weight"),
            ({"weak_augmentation": "flip"}, TypeError, "weak_augmentation"),
            ({"pseudo_generator": "psg"}, TypeError, "pseudo_generator"),
            ({"from_logits": True}, ValueError, r"model.*probabilities.*from_logits=False"),
        ],
    )
    def test_arguments(self, kwargs, error, match):
        with pytest.raises(error, match=match):
            kt.ssl.FixMatch(tiny.classifier(2), **kwargs)

    def test_ssl_dataset_arguments(self):
        x, y = _labelled(4)
        with pytest.raises(ValueError, match=r"unlabeled.*batch_size \* unlabeled_ratio = 14"):
            kt.ssl.ssl_dataset((x, y), tiny.images(5), batch_size=2)
        with pytest.raises(ValueError, match="batch_size"):
            kt.ssl.ssl_dataset((x, y), tiny.images(50), batch_size=8)
        with pytest.raises(TypeError, match="labeled"):
            kt.ssl.ssl_dataset(x, tiny.images(50), batch_size=2)
