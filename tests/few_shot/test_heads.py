import numpy as np
import pytest

import keras
import keras_transfer as kt
from tests.test_case import TestCase

SUPPORT = np.array([[0.0, 0.0], [0.0, 2.0], [4.0, 0.0], [4.0, 2.0], [1.0, 5.0], [-1.0, 5.0]], "float32")
LABELS = np.array([0, 0, 1, 1, 2, 2])


def clusters(n_per_class=20, num_classes=4, dim=6, seed=0, spread=0.3):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(num_classes, dim)) * 3.0
    y = np.repeat(np.arange(num_classes), n_per_class)
    return (centers[y] + spread * rng.normal(size=(len(y), dim))).astype("float32"), y, centers


class TestPrototypeHead(TestCase):
    def test_prototypes_are_the_class_means_and_scores_negative_squared_distances(self):
        head = kt.few_shot.PrototypeHead(3, scale=2.0, activation=None)
        head.fit_prototypes(SUPPORT, LABELS)
        self.assertAllClose(head.prototypes, [[0.0, 1.0], [4.0, 1.0], [0.0, 5.0]])
        self.assertAllEqual(head.counts.numpy(), [2, 2, 2])
        query = np.array([[1.0, 1.0], [3.0, 4.0]], "float32")
        expected = -2.0 * ((query[:, None, :] - head.prototypes.numpy()[None]) ** 2).sum(-1)
        self.assertAllClose(head(query), expected, atol=1e-5)

    def test_softmax_output_predicts_the_nearest_prototype(self):
        x, y, _ = clusters()
        head = kt.few_shot.PrototypeHead(4).fit_prototypes(x, y)
        probabilities = keras.ops.convert_to_numpy(head(x))
        self.assertAllClose(probabilities.sum(-1), np.ones(len(x)), atol=1e-5)
        assert (probabilities.argmax(-1) == y).mean() == 1.0
        model = keras.Sequential([keras.Input((x.shape[1],)), head])
        model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=True)
        assert model.evaluate(x, y, verbose=0)[1] == 1.0  # XLA-compiled

    def test_cosine_metric_ignores_the_norm(self):
        head = kt.few_shot.PrototypeHead(2, metric="cosine", scale=1.0, activation=None)
        head.set_prototypes(np.array([[1.0, 0.0], [0.0, 1.0]]))
        self.assertAllClose(head(np.array([[10.0, 0.0], [0.0, 0.1]], "float32")), [[1.0, 0.0], [0.0, 1.0]], atol=1e-6)

    def test_refitting_replaces_the_classes_and_saving_keeps_them(self):
        x, y, _ = clusters(num_classes=3)
        head = kt.few_shot.PrototypeHead(3)
        model = keras.Sequential([keras.Input((x.shape[1],)), head])
        head.fit_prototypes(x[::-1], y[::-1])  # same classes, other order: same means
        head.fit_prototypes(x, (y + 1) % 3)
        revived = self.run_model_saving_test(model, x)
        new_head = revived.layers[-1]
        assert new_head.fitted
        self.assertAllClose(new_head.prototypes, head.prototypes)
        assert (revived.predict(x, verbose=0).argmax(-1) == (y + 1) % 3).all()

    def test_serialization_round_trip(self):
        head = kt.few_shot.PrototypeHead(4, metric="cosine", scale=3.0, activation=None, name="proto")
        revived = self.run_serialization_test(head)
        assert (revived.num_classes, revived.metric, revived.scale, revived.activation) == (4, "cosine", 3.0, None)

    def test_unfitted_head_refuses_to_predict(self):
        head = kt.few_shot.PrototypeHead(2)
        with pytest.raises(ValueError, match="fit_prototypes"):
            head(np.zeros((1, 3), "float32"))

    @pytest.mark.parametrize(
        "labels, match",
        [
            (np.array([0, 0, 1, 1, 1, 1]), r"no example of classes \[2\]"),
            (np.array([0, 0, 1, 1, 2, 3]), r"class ids in \[0, 2\], i.e. \[0, 3\)"),
            (np.array([0, 1, 2]), "6 class ids"),
            (np.array([0.5, 0, 1, 1, 2, 2]), "integer class ids"),
        ],
    )
    def test_bad_labels_name_the_argument(self, labels, match):
        with pytest.raises((ValueError, TypeError), match=match) as info:
            kt.few_shot.PrototypeHead(3).fit_prototypes(SUPPORT, labels)
        assert "`labels`" in str(info.value)

    def test_bad_arguments(self):
        with pytest.raises(ValueError, match="`metric`.*Received: metric='manhattan'"):
            kt.few_shot.PrototypeHead(2, metric="manhattan")
        with pytest.raises(ValueError, match="`scale`"):
            kt.few_shot.PrototypeHead(2, scale=0)
        with pytest.raises(TypeError, match="`num_classes`"):
            kt.few_shot.PrototypeHead("2")
        with pytest.raises(ValueError, match="`num_classes`.*>= 2.*Received: num_classes=1"):
            kt.few_shot.PrototypeHead(1)
        head = kt.few_shot.PrototypeHead(3).fit_prototypes(SUPPORT, LABELS)
        with pytest.raises(ValueError, match="`embeddings`.*dimension 2"):
            head.fit_prototypes(np.zeros((6, 5)), LABELS)
        with pytest.raises(ValueError, match="`embeddings`.*finite"):
            head.fit_prototypes(np.full((6, 2), np.nan), LABELS)

    def test_mixed_precision_outputs_float32(self):
        keras.config.set_dtype_policy("mixed_float16")
        x, y, _ = clusters()
        inputs = keras.Input((x.shape[1],))
        features = keras.layers.Dense(8)(inputs)
        head = kt.few_shot.PrototypeHead(4)
        model = keras.Model(inputs, head(features))
        embedder = keras.Model(inputs, features)
        head.fit_prototypes(embedder.predict(x, verbose=0), y)
        output = model.predict(x, verbose=0)
        assert output.dtype == np.float32 and np.isfinite(output).all()
        assert head.compute_dtype == "float32"


class TestCosineClassifierHead(TestCase):
    def test_scores_are_scaled_cosines(self):
        head = kt.few_shot.CosineClassifierHead(2, scale=4.0, activation=None)
        head.build((None, 3))
        kernel = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]], "float32")
        head.kernel.assign(kernel)
        x = np.array([[3.0, 4.0, 0.0]], "float32")
        self.assertAllClose(head(x), [[4.0 * 0.6, 4.0 * 0.8]], atol=1e-6)

    def test_imprinting_sets_unit_class_directions(self):
        x, y, _ = clusters(num_classes=3)
        head = kt.few_shot.CosineClassifierHead(3).imprint(x, y)
        kernel = head.kernel.numpy()
        self.assertAllClose(np.linalg.norm(kernel, axis=0), np.ones(3), atol=1e-6)
        unit = x / np.linalg.norm(x, axis=1, keepdims=True)
        direction = unit[y == 1].mean(0)
        self.assertAllClose(kernel[:, 1], direction / np.linalg.norm(direction), atol=1e-5)
        assert (keras.ops.convert_to_numpy(head(x)).argmax(-1) == y).mean() == 1.0

    def test_trains_with_fit_under_jit_and_learns_its_scale(self):
        x, y, _ = clusters(num_classes=3, spread=1.0)
        head = kt.few_shot.CosineClassifierHead(3, scale=2.0)
        model = keras.Sequential([keras.Input((x.shape[1],)), head])
        model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=True)
        history = model.fit(x, y, epochs=15, batch_size=20, verbose=0)
        assert history.history["loss"][-1] < history.history["loss"][0]
        assert float(head.scale_weight.numpy()) > 2.0  # sharper scores lower the loss on separable data
        fixed = kt.few_shot.CosineClassifierHead(3, scale=2.0, learn_scale=False)
        assert [w.name for w in keras.Sequential([keras.Input((6,)), fixed]).trainable_weights] == ["kernel"]

    def test_saving_and_serialization(self):
        x, y, _ = clusters(num_classes=3)
        head = kt.few_shot.CosineClassifierHead(3, scale=7.0, learn_scale=False, activation=None)
        model = keras.Sequential([keras.Input((x.shape[1],)), head])
        head.imprint(x, y)
        self.run_model_saving_test(model, x)
        revived = self.run_serialization_test(head)
        assert (revived.scale, revived.learn_scale, revived.activation) == (7.0, False, None)

    def test_mixed_bfloat16_fit_is_finite_and_float32(self):
        keras.config.set_dtype_policy("mixed_bfloat16")
        x, y, _ = clusters(num_classes=3)
        inputs = keras.Input((x.shape[1],))
        outputs = kt.few_shot.CosineClassifierHead(3)(keras.layers.Dense(8)(inputs))
        model = keras.Model(inputs, outputs)
        model.compile("adam", "sparse_categorical_crossentropy", jit_compile=True)
        history = model.fit(x, y, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])
        assert model.predict(x, verbose=0).dtype == np.float32

    def test_bad_arguments(self):
        with pytest.raises(TypeError, match="`learn_scale`"):
            kt.few_shot.CosineClassifierHead(2, learn_scale="yes")
        with pytest.raises(ValueError, match="`activation`"):
            kt.few_shot.CosineClassifierHead(2, activation="nope")
        with pytest.raises(ValueError, match="no example of classes"):
            kt.few_shot.CosineClassifierHead(4).imprint(SUPPORT, LABELS)


class TestZeroShotHead(TestCase):
    def test_scores_against_the_class_embeddings(self):
        classes = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], "float32")
        head = kt.few_shot.ZeroShotHead(classes, scale=2.0, activation=None)
        x = np.array([[2.0, 0.0]], "float32")
        self.assertAllClose(head(x), [[2.0, 0.0, 2.0 / np.sqrt(2.0)]], atol=1e-6)

    def test_projection_learned_on_seen_classes_recognises_unseen_ones(self):
        # Inputs are a hidden linear map of their class's embedding: a
        # projection learned from 6 seen classes must transfer to 4 others.
        rng = np.random.default_rng(0)
        class_embeddings = rng.normal(size=(10, 5)).astype("float32")
        mixing = rng.normal(size=(5, 12)).astype("float32")
        y = np.repeat(np.arange(10), 30)
        x = (class_embeddings[y] @ mixing + 0.05 * rng.normal(size=(len(y), 12))).astype("float32")
        seen, unseen = y < 6, y >= 6
        head = kt.few_shot.ZeroShotHead(class_embeddings[:6], projection=True, scale=10.0)
        model = keras.Sequential([keras.Input((12,)), head])
        model.compile(keras.optimizers.Adam(0.02), "sparse_categorical_crossentropy", jit_compile=True)
        model.fit(x[seen], y[seen], epochs=40, batch_size=30, verbose=0)
        unseen_head = head.with_class_embeddings(class_embeddings[6:])
        self.assertAllClose(unseen_head.projection_layer.kernel, head.projection_layer.kernel)
        accuracy = (keras.ops.convert_to_numpy(unseen_head(x[unseen])).argmax(-1) == y[unseen] - 6).mean()
        untrained = kt.few_shot.ZeroShotHead(class_embeddings[6:], projection=True)
        chance_like = (keras.ops.convert_to_numpy(untrained(x[unseen])).argmax(-1) == y[unseen] - 6).mean()
        assert accuracy > 0.6 and accuracy > chance_like + 0.3, (accuracy, chance_like)  # 0.75 vs 0.25 here

    def test_saving_keeps_the_class_embeddings_and_config_leaves_them_out(self):
        classes = np.random.default_rng(1).normal(size=(4, 3)).astype("float32")
        head = kt.few_shot.ZeroShotHead(classes, projection=True)
        model = keras.Sequential([keras.Input((5,)), head])
        revived = self.run_model_saving_test(model, np.random.default_rng(2).normal(size=(3, 5)).astype("float32"))
        self.assertAllClose(revived.layers[-1].class_embeddings, classes)
        config = head.get_config()
        assert "class_embeddings" not in config and (config["num_classes"], config["class_dim"]) == (4, 3)
        self.run_serialization_test(head)

    def test_set_class_embeddings_and_errors(self):
        head = kt.few_shot.ZeroShotHead(num_classes=2, class_dim=3)
        head.set_class_embeddings(np.eye(2, 3))
        self.assertAllClose(keras.ops.convert_to_numpy(head(np.eye(2, 3).astype("float32"))).argmax(-1), [0, 1])
        with pytest.raises(ValueError, match="with_class_embeddings"):
            head.set_class_embeddings(np.eye(3))
        with pytest.raises(ValueError, match="projection=True"):
            kt.few_shot.ZeroShotHead(np.eye(2, 3))(np.zeros((1, 4), "float32"))
        with pytest.raises(ValueError, match="num_classes"):
            kt.few_shot.ZeroShotHead()
        with pytest.raises(ValueError, match="`num_classes`.*Received: num_classes=3"):
            kt.few_shot.ZeroShotHead(np.eye(2, 3), num_classes=3)
        with pytest.raises(ValueError, match="`class_embeddings`.*2D"):
            kt.few_shot.ZeroShotHead(np.zeros(3))
