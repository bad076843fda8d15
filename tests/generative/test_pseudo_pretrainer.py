import keras
import numpy as np
import pytest

import keras_transfer as kt
from tests.generative import tiny
from tests.test_case import TestCase

PP = kt.generative.PseudoPretrainer


class TestPseudoPretrainer(TestCase):
    def test_samples_are_generated_for_uniform_labels(self):
        generator = tiny.label_only_generator(classes=3)
        pretrainer = PP(tiny.classifier(3), generator, seed=0)
        images, labels = pretrainer.sample(300)
        labels = np.asarray(labels)
        expected = generator.predict([np.zeros((300, 2), "float32"), np.eye(3, dtype="float32")[labels]], verbose=0)
        self.assertAllClose(images, expected, atol=1e-3)
        counts = np.bincount(labels, minlength=3)
        assert counts.min() > 70, f"labels should be uniform over the 3 classes: {counts}"

    def test_fit_streams_pseudo_samples_and_trains_only_the_model(self):
        generator = tiny.label_only_generator(classes=3)
        model = tiny.classifier(3)
        pretrainer = PP(model, generator, seed=0)
        pretrainer.compile(optimizer=keras.optimizers.Adam(0.02), metrics=["accuracy"], jit_compile=True)
        assert [id(v) for v in pretrainer.trainable_variables] == [id(v) for v in model.trainable_variables]
        paint = np.array(generator.get_layer("paint").kernel)
        history = pretrainer.fit(batch_size=32, steps_per_epoch=20, epochs=2, verbose=0)
        assert history.history["accuracy"][-1] > 0.9, "the classes of this generator are separable"
        self.assertAllEqual(np.array(generator.get_layer("paint").kernel), paint)
        x, y = pretrainer.sample(30)
        accuracy = (model.predict(np.asarray(x), verbose=0).argmax(-1) == np.asarray(y)).mean()
        assert accuracy > 0.9
        assert len(pretrainer.optimizer.variables) > 0

    def test_evaluate_and_predict_take_real_images(self):
        pretrainer = PP(tiny.classifier(3), tiny.generator(), seed=0)
        pretrainer.compile(metrics=["accuracy"])
        x = tiny.images(4)
        self.assertAllClose(pretrainer.predict(x, verbose=0), pretrainer.model.predict(x, verbose=0))
        logs = pretrainer.evaluate(x, np.array([0, 1, 2, 0]), verbose=0, return_dict=True)
        assert set(logs) == {"loss", "accuracy"}

    def test_checkpoint_load_and_continue_with_the_same_noise(self):
        pretrainer = PP(tiny.classifier(3), tiny.generator(), seed=4)
        pretrainer.compile(optimizer="adam", metrics=["accuracy"])
        path = self.tmp_path_str("pp.keras")
        pretrainer.fit(batch_size=8, steps_per_epoch=3, epochs=1, verbose=0,
                       callbacks=[keras.callbacks.ModelCheckpoint(path)])
        revived = keras.models.load_model(path)
        assert isinstance(revived, PP)
        assert int(revived.optimizer.iterations.numpy()) == 3
        self.assertAllEqual(revived.seed_generator.state.numpy(), pretrainer.seed_generator.state.numpy())
        x_original, y_original = pretrainer.sample(5)
        x_revived, y_revived = revived.sample(5)
        self.assertAllEqual(y_revived, y_original)
        self.assertAllClose(x_revived, x_original, atol=1e-4)
        revived.fit(batch_size=8, steps_per_epoch=2, epochs=1, verbose=0)
        assert int(revived.optimizer.iterations.numpy()) == 5

    @pytest.mark.parametrize("policy, jit", tiny.PRECISION_AXES)
    def test_mixed_precision(self, policy, jit):
        keras.config.set_dtype_policy(policy)
        pretrainer = PP(tiny.conv_classifier(3), tiny.label_only_generator(3), seed=0)
        pretrainer.compile(optimizer="adam", jit_compile=jit)
        history = pretrainer.fit(batch_size=8, steps_per_epoch=2, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])
        assert pretrainer.predict(tiny.images(2), verbose=0).dtype == np.float32

    def test_logits_model_gets_a_from_logits_loss(self):
        pretrainer = PP(tiny.classifier(3, activation=None), tiny.generator())
        pretrainer.compile()
        assert pretrainer.loss.get_config()["from_logits"] is True


class TestPseudoPretrainerBadInput:
    def test_model_head_must_match_generator_classes(self):
        with pytest.raises(ValueError, match=r"model.*\(None, 2\).*3 source classes.*replace_head"):
            PP(tiny.classifier(2), tiny.generator(classes=3))

    def test_generator_samples_incompatible_with_model_input(self):
        z, y = keras.Input((2,)), keras.Input((3,))
        flat = keras.Model([z, y], keras.layers.Dense(10)(y))
        with pytest.raises(ValueError, match=r"generator.*\(10,\).*\(8, 8, 1\)"):
            PP(tiny.classifier(3), flat)

    def test_fit_arguments(self):
        pretrainer = PP(tiny.classifier(3), tiny.generator())
        pretrainer.compile()
        with pytest.raises(ValueError, match="leave out `x` and `y`"):
            pretrainer.fit(tiny.images(2), np.zeros(2), steps_per_epoch=1)
        with pytest.raises(ValueError, match="steps_per_epoch=None"):
            pretrainer.fit(batch_size=4)
        with pytest.raises(ValueError, match="sample_weight"):
            pretrainer.fit(steps_per_epoch=1, sample_weight=np.ones(2))
        with pytest.raises(TypeError, match="model"):
            PP("net", tiny.generator())


class TestReplaceHead(TestCase):
    def test_shares_the_pretrained_layers_and_adds_a_new_head(self):
        source = tiny.classifier(3)
        target = kt.generative.replace_head(source, 2)
        assert target.output_shape == (None, 2)
        assert target.get_layer("hidden") is source.get_layer("hidden")
        assert target.layers[-1].activation is keras.activations.softmax
        x = tiny.images(2)
        hidden = keras.Model(source.inputs, source.get_layer("hidden").output)
        dense = target.layers[-1]
        expected = keras.activations.softmax(hidden.predict(x, verbose=0) @ np.array(dense.kernel) + np.array(dense.bias))
        self.assertAllClose(target.predict(x, verbose=0), expected, atol=1e-5)
        logits = kt.generative.replace_head(source, 4, activation=None)
        assert logits.layers[-1].activation is keras.activations.linear

    def test_transfer_classifier_stays_a_transfer_classifier(self):
        backbone = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3)], name="tiny_backbone")
        source = kt.models.TransferClassifier(backbone, 3, input_shape=(8, 8, 1), hidden_units=(5,))
        target = kt.generative.replace_head(source, 2)
        assert isinstance(target, kt.models.TransferClassifier)
        assert target.backbone is backbone and target.output_shape == (None, 2)
        self.assertAllEqual(target.get_layer("head_dense_0").kernel, source.get_layer("head_dense_0").kernel)
        assert list(target.layer_groups) == ["backbone", "head"]

    def test_bad_input(self):
        with pytest.raises(ValueError, match=r"model.*final `Dense`.*Flatten"):
            kt.generative.replace_head(keras.Sequential([keras.Input((2, 2)), keras.layers.Flatten()]), 2)
        with pytest.raises(ValueError, match="num_classes"):
            kt.generative.replace_head(tiny.classifier(), 0)
