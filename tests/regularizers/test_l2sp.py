import copy
import pickle

import numpy as np
import pytest

import keras
import keras_transfer as kt
from tests.test_case import TestCase, tiny_classifier, tiny_data


def moved(model, amount=0.05, seed=0):
    """Moves every weight of `model` away from where it is (the anchor)."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        if variable.trainable or "moving" not in variable.path:
            variable.assign(variable.numpy() + amount * rng.normal(size=variable.shape).astype("float32"))


def sgd_step(model, x, y):
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy", jit_compile=True)
    model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0)


class TestL2SPRegularizer(TestCase):
    def test_penalty_values(self):
        anchor = np.array([[1.0, -1.0]], "float32")
        w = np.array([[3.0, 0.0]], "float32")
        assert float(kt.regularizers.L2SP(0.2, anchor=anchor)(w)) == pytest.approx(0.5 * 0.2 * (4.0 + 1.0))
        assert float(kt.regularizers.L2SP(0.2)(w)) == pytest.approx(0.5 * 0.2 * 9.0)
        assert float(kt.regularizers.L2SP(0.0, anchor=anchor)(w)) == 0.0

    def test_the_anchor_is_a_copy(self):
        variable = keras.Variable(np.ones((2,), "float32"))
        regularizer = kt.regularizers.L2SP(1.0, anchor=variable)
        variable.assign([3.0, 1.0])
        assert float(regularizer(variable)) == pytest.approx(2.0)

    def test_config_pickle_and_deepcopy_keep_the_anchor(self):
        regularizer = kt.regularizers.L2SP(0.3, anchor=np.arange(3, dtype="float32"))
        assert regularizer.get_config() == {"alpha": 0.3, "anchored": True}
        for clone in (pickle.loads(pickle.dumps(regularizer)), copy.deepcopy(regularizer)):
            self.assertAllEqual(clone.anchor.numpy(), [0.0, 1.0, 2.0])
        revived = keras.regularizers.deserialize(keras.regularizers.serialize(regularizer))
        assert isinstance(revived, kt.regularizers.L2SP) and revived.anchor is None
        with pytest.raises(ValueError, match="anchor"):
            revived(np.zeros(3, "float32"))  # refuses to pull toward zero instead

    def test_layer_argument_in_a_functional_model_saves_its_anchor(self):
        keras.utils.set_random_seed(0)
        pretrained = np.full((3, 2), 0.5, "float32")
        inputs = keras.Input((3,))
        outputs = keras.layers.Dense(2, kernel_regularizer=kt.regularizers.L2SP(0.1, anchor=pretrained), name="d")(inputs)
        model = keras.Model(inputs, outputs)
        penalty = float(sum(model.losses))
        assert penalty > 0
        path = self.tmp_path_str("m.keras")
        model.save(path)
        revived = keras.models.load_model(path)
        self.assertAllEqual(revived.get_layer("d").kernel_regularizer.anchor.numpy(), pretrained)
        assert float(sum(revived.losses)) == pytest.approx(penalty)

    def test_bad_arguments(self):
        with pytest.raises(ValueError, match="`alpha`.*Received: alpha=-1"):
            kt.regularizers.L2SP(-1)
        with pytest.raises(TypeError, match="`alpha`"):
            kt.regularizers.L2SP("strong")
        regularizer = kt.regularizers.L2SP(1.0, anchor=np.zeros(2))
        with pytest.raises(ValueError, match="`anchor`.*shape \\(2,\\)"):
            regularizer.set_anchor(np.zeros(3))


class TestApplyL2SP(TestCase):
    def test_one_sgd_step_adds_exactly_the_l2sp_gradients(self):
        # The L2-SP gradient is alpha * (w - w0) on pretrained weights and
        # beta * w on the head: one SGD step must differ from a plain step
        # by exactly -lr times that.
        x, y = tiny_data()
        alpha, beta, lr = 0.3, 0.2, 0.1
        keras.utils.set_random_seed(1)
        plain = tiny_classifier(freeze=False)
        keras.utils.set_random_seed(1)
        base = tiny_classifier(freeze=False)
        regularized = kt.regularizers.apply_l2sp(base, alpha=alpha, beta=beta)
        anchors = {v.path: v.numpy().copy() for v in base.weights}
        moved(plain)
        moved(base)
        start = {v.path: v.numpy().copy() for v in base.trainable_weights}
        sgd_step(plain, x, y)
        sgd_step(regularized, x, y)
        plain_after = {v.path: v.numpy() for v in plain.trainable_weights}
        for variable in base.trainable_weights:
            path = variable.path
            is_head = path.startswith("predictions")
            pull = beta * start[path] if is_head else alpha * (start[path] - anchors[path])
            np.testing.assert_allclose(variable.numpy(), plain_after[path] - lr * pull, atol=2e-6, err_msg=path)

    def test_frozen_groups_add_nothing_until_they_train(self):
        model = kt.regularizers.apply_l2sp(tiny_classifier(freeze=True), alpha=1.0, beta=0.0)
        moved(model.model)
        assert float(model.l2sp_penalty()) == 0.0 and float(sum(model.losses)) == 0.0
        assert float(model.l2sp_penalty(trainable_only=False)) > 0.0
        kt.set_trainable(model, ["block3_conv", "head"])
        assert float(model.l2sp_penalty()) == pytest.approx(float(sum(model.losses)))
        assert float(model.l2sp_penalty()) > 0.0

    def test_freeze_schedule_and_discriminative_lr_compose_under_jit(self):
        x, y = tiny_data(n=32)

        def run(alpha):
            keras.utils.set_random_seed(2)
            base = tiny_classifier(freeze=True)
            model = kt.regularizers.apply_l2sp(base, alpha=alpha, beta=0.0) if alpha else base
            anchor = base.backbone.get_layer("block1_conv").kernel.numpy().copy()
            model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy", jit_compile=True)
            callbacks = [kt.callbacks.FreezeSchedule({1: "all"}), kt.callbacks.DiscriminativeLR(decay=0.5)]
            history = model.fit(x, y, batch_size=8, epochs=3, callbacks=callbacks, verbose=0)
            assert history.history["freeze_stage"] == [0.0, 1.0, 1.0]
            assert isinstance(model.optimizer, kt.optimizers.GroupOptimizer)
            if alpha:  # saved mid-schedule, with the wrapped optimizer: loads and resumes
                path = self.tmp_path_str("scheduled.keras")
                model.save(path)
                revived = keras.models.load_model(path)
                assert float(revived.l2sp_penalty()) == pytest.approx(float(model.l2sp_penalty()), rel=1e-5)
                revived.fit(x, y, batch_size=8, epochs=1, verbose=0)
            return np.abs(base.backbone.get_layer("block1_conv").kernel.numpy() - anchor).sum()

        plain, pulled = run(0.0), run(50.0)
        assert plain > 0 and pulled < 0.5 * plain, (plain, pulled)

    def test_save_and_load_restore_the_pretrained_anchor_not_the_fitted_weights(self):
        x, y = tiny_data()
        base = tiny_classifier(freeze=False)
        pretrained = {v.path: v.numpy().copy() for v in base.weights}
        model = kt.regularizers.apply_l2sp(base, alpha=0.5, beta=0.1)
        model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy", jit_compile=True)
        model.fit(x, y, epochs=2, verbose=0)
        penalty = float(model.l2sp_penalty())
        assert penalty > 0
        path = self.tmp_path_str("l2sp.keras")
        model.save(path)
        revived = keras.models.load_model(path)
        assert isinstance(revived, kt.models.L2SPModel)
        anchors = revived.anchors()
        assert len(anchors) == len([p for p in pretrained if not p.startswith("predictions") and "moving" not in p])
        for variable_path, value in model.anchors().items():
            np.testing.assert_array_equal(value, pretrained[variable_path])
        for original, restored in zip(model.anchors().values(), anchors.values()):
            np.testing.assert_array_equal(original, restored)
        assert float(revived.l2sp_penalty()) == pytest.approx(penalty, rel=1e-6)
        self.assertAllClose(revived.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
        revived.fit(x, y, epochs=1, verbose=0)  # resumes with its optimizer

    def test_weights_files_carry_the_anchors_too(self):
        base = tiny_classifier(freeze=False)
        model = kt.regularizers.apply_l2sp(base, alpha=0.5)
        moved(base)
        path = self.tmp_path_str("l2sp.weights.h5")
        model.save_weights(path)
        fresh = kt.regularizers.apply_l2sp(tiny_classifier(freeze=False), alpha=0.5)
        fresh.load_weights(path)
        assert float(fresh.l2sp_penalty()) == pytest.approx(float(model.l2sp_penalty()), rel=1e-6)

    def test_a_compiled_model_stays_compiled_and_groups_are_shared(self):
        base = tiny_classifier()
        base.compile(keras.optimizers.SGD(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
        model = kt.regularizers.apply_l2sp(base)
        assert model.compiled and isinstance(model.optimizer, keras.optimizers.SGD)
        assert [v.path for v in model.weights] == [v.path for v in base.weights]  # anchors are not weights
        assert model.optimizer is not base.optimizer
        assert list(model.layer_groups) == list(kt.layer_groups(base))
        assert "head" in kt.describe_groups(model, print_fn=None)

    @pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
    def test_mixed_precision(self, policy):
        keras.config.set_dtype_policy(policy)
        x, y = tiny_data()
        base = tiny_classifier(freeze=False)
        model = kt.regularizers.apply_l2sp(base, alpha=0.1, beta=0.01)
        moved(base)
        model.compile("adam", "sparse_categorical_crossentropy", jit_compile=True)
        history = model.fit(x, y, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])
        assert model.predict(x, verbose=0).dtype == np.float32
        assert model.l2sp_penalty().dtype == "float32" and float(model.l2sp_penalty()) > 0

    def test_bad_arguments(self):
        with pytest.raises(TypeError, match="`model`"):
            kt.regularizers.apply_l2sp("vgg16")
        with pytest.raises(ValueError, match="`alpha`"):
            kt.regularizers.apply_l2sp(tiny_classifier(), alpha=-0.1)
        with pytest.raises(ValueError, match="Unknown group 'heads' in argument `new_groups`.*Did you mean 'head'"):
            kt.regularizers.apply_l2sp(tiny_classifier(), new_groups="heads")
        model = kt.regularizers.apply_l2sp(tiny_classifier())
        with pytest.raises(TypeError, match="already has it"):
            kt.regularizers.apply_l2sp(model)
        with pytest.raises(ValueError, match="apply L2-SP once"):
            kt.regularizers.apply_l2sp(model.model)

    def test_sequential_models_work_and_subclassed_ones_are_refused(self):
        base = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, name="a"), keras.layers.Dense(2, name="b")])
        model = kt.regularizers.apply_l2sp(base, alpha=0.1, beta=0.0)
        assert list(model.layer_groups) == ["a", "head"]
        base.get_layer("a").kernel.assign(base.get_layer("a").kernel + 1.0)
        assert float(model.l2sp_penalty()) == pytest.approx(0.5 * 0.1 * 12)
        revived = self.run_model_saving_test(model, np.ones((2, 3), "float32"))
        assert float(revived.l2sp_penalty()) == pytest.approx(0.5 * 0.1 * 12)

        class Subclassed(keras.Model):
            def call(self, x):
                return x

        with pytest.raises(TypeError, match="functional keras.Model"):
            kt.regularizers.apply_l2sp(Subclassed())

    def test_a_user_regularizer_is_kept(self):
        inputs = keras.Input((3,))
        hidden = keras.layers.Dense(4, kernel_regularizer=keras.regularizers.L2(1.0), name="body")(inputs)
        outputs = keras.layers.Dense(2, name="out")(hidden)
        base = keras.Model(inputs, outputs)
        before = float(sum(base.losses))
        model = kt.regularizers.apply_l2sp(base, alpha=1.0, beta=0.0, groups={"body": ["body"], "head": ["out"]})
        assert float(sum(model.losses)) == pytest.approx(before)  # L2-SP is 0 at the anchor
        body = base.get_layer("body")
        body.kernel.assign(body.kernel + 1.0)
        user = float(keras.regularizers.L2(1.0)(body.kernel))
        assert float(sum(model.losses)) == pytest.approx(user + 0.5 * 12)


class TestL2SPModelUse(TestCase):
    def test_exports_like_the_wrapped_model(self):
        import tensorflow as tf

        x, _ = tiny_data(n=4)
        model = kt.regularizers.apply_l2sp(tiny_classifier(), alpha=0.1)
        path = self.tmp_path_str("exported")
        kt.export.export_saved_model(model, path)
        serve = tf.saved_model.load(path).signatures["serving_default"]
        probabilities = serve(images=tf.constant(x))["probabilities"].numpy()
        self.assertAllClose(probabilities, model.predict(x, verbose=0), atol=1e-6)  # not softmax applied twice
        features = self.tmp_path_str("features")
        kt.export.export_saved_model(model, features, kind="feature_vector")
        served = tf.saved_model.load(features).signatures["serving_default"](images=tf.constant(x))["features"]
        self.assertAllClose(served, model.feature_extractor.predict(x, verbose=0), atol=1e-6)

    def test_few_shot_evaluation_uses_the_wrapped_features(self):
        x, y = tiny_data(n=30, num_classes=3)
        model = kt.regularizers.apply_l2sp(tiny_classifier(), alpha=0.1)
        result = kt.few_shot.evaluate_episodes(model, x, y, n_way=3, k_shot=2, queries=2, episodes=3)
        assert result.episodes == 3
