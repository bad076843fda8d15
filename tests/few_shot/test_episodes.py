import numpy as np
import pytest

import keras
import keras_transfer as kt
from keras_transfer.few_shot.episodes import sample_episodes
from tests.test_case import TestCase, tiny_backbone


def gaussian_classes(num_classes=6, per_class=25, dim=8, separation=3.0, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(num_classes), per_class)
    x = rng.normal(size=(len(y), dim)) + separation * np.eye(num_classes, dim)[y]
    return x.astype("float32"), y


class TestSampleEpisodes(TestCase):
    def test_episodes_are_deterministic_disjoint_and_class_pure(self):
        _, y = gaussian_classes()
        support, query = sample_episodes(y, n_way=4, k_shot=3, queries=5, episodes=20, seed=7)
        again, _ = sample_episodes(y, n_way=4, k_shot=3, queries=5, episodes=20, seed=7)
        other, _ = sample_episodes(y, n_way=4, k_shot=3, queries=5, episodes=20, seed=8)
        self.assertAllEqual(support, again)
        assert not np.array_equal(support, other)
        assert support.shape == (20, 4, 3) and query.shape == (20, 4, 5)
        for s, q in zip(support, query):
            assert not set(s.ravel()) & set(q.ravel())
            for i in range(4):  # one class per row, different classes per row
                assert len(set(y[s[i]]) | set(y[q[i]])) == 1
            assert len({y[s[i, 0]] for i in range(4)}) == 4

    def test_too_few_examples_or_classes(self):
        _, y = gaussian_classes(per_class=5)
        with pytest.raises(ValueError, match="k_shot \\+ queries = 8"):
            sample_episodes(y, n_way=2, k_shot=3, queries=5, episodes=1, seed=0)
        with pytest.raises(ValueError, match="`n_way`.*Received: n_way=7"):
            sample_episodes(y, n_way=7, k_shot=1, queries=1, episodes=1, seed=0)


class TestEvaluateEpisodes(TestCase):
    def test_separable_classes_are_solved_by_every_head(self):
        x, y = gaussian_classes(separation=6.0)
        for head in ("prototype", "linear", "cosine"):
            result = kt.few_shot.evaluate_episodes(None, x, y, n_way=5, k_shot=3, queries=5, episodes=8, head=head)
            assert result.mean > 0.95, (head, result)
            assert result.head == head and result.episodes == 8

    def test_chance_level_on_random_labels_and_the_interval_formula(self):
        rng = np.random.default_rng(3)
        x = rng.normal(size=(300, 8)).astype("float32")
        y = rng.integers(0, 5, 300)
        result = kt.few_shot.evaluate_episodes(None, x, y, n_way=5, k_shot=5, queries=10, episodes=60, seed=1)
        assert abs(result.mean - 0.2) < 0.05, result
        expected = 1.96 * result.accuracies.std(ddof=1) / np.sqrt(60)
        assert result.ci95 == pytest.approx(expected)
        assert abs(result.mean - 0.2) < 3 * result.ci95

    def test_heads_see_the_same_episodes_for_the_same_seed(self):
        # The sampler does not depend on the head: results are paired.
        x, y = gaussian_classes(separation=1.0)
        proto = kt.few_shot.evaluate_episodes(None, x, y, k_shot=1, queries=5, episodes=30, seed=4)
        again = kt.few_shot.evaluate_episodes(None, x, y, k_shot=1, queries=5, episodes=30, seed=4)
        linear = kt.few_shot.evaluate_episodes(None, x, y, k_shot=1, queries=5, episodes=30, seed=4, head="linear")
        self.assertAllEqual(proto.accuracies, again.accuracies)
        assert len(linear.accuracies) == 30 and not np.array_equal(proto.accuracies, linear.accuracies)

    def test_prototype_head_beats_chance_on_real_digits_one_shot(self):
        from sklearn.datasets import load_digits

        digits = load_digits()
        result = kt.few_shot.evaluate_episodes(
            None, digits.data, digits.target, n_way=5, k_shot=1, queries=10, episodes=100, seed=0, normalize=True
        )
        assert result.mean > 0.6, result  # chance is 0.2

    def test_embedding_from_a_model_a_transfer_classifier_or_a_callable(self):
        x, y = gaussian_classes(per_class=12, dim=16)
        images = np.repeat(x.reshape(-1, 4, 4, 1), 3, axis=-1) * 40.0 + 128.0
        classifier = kt.build_classifier(tiny_backbone((4, 4, 3), batchnorm=False), 6, input_shape=(4, 4, 3), preprocessing="unit")
        seen = {}
        features = classifier.feature_extractor

        def embed_fn(batch):
            seen["shape"] = batch.shape
            return features.predict(batch, verbose=0)

        by_model = kt.few_shot.evaluate_episodes(classifier, images, y, k_shot=2, queries=3, episodes=5, seed=2)
        by_fn = kt.few_shot.evaluate_episodes(embed_fn, images, y, k_shot=2, queries=3, episodes=5, seed=2)
        self.assertAllClose(by_model.accuracies, by_fn.accuracies)
        assert seen["shape"][1:] == (4, 4, 3)

    def test_bad_arguments_are_refused_before_any_work(self):
        x, y = gaussian_classes()

        def never(batch):
            raise AssertionError("the embedding ran")

        with pytest.raises(ValueError, match="`head`.*Did you mean 'prototype'"):
            kt.few_shot.evaluate_episodes(never, x, y, head="prototypes")
        with pytest.raises(ValueError, match="`n_way`"):
            kt.few_shot.evaluate_episodes(never, x, y, n_way=1)
        with pytest.raises(TypeError, match="`y`"):
            kt.few_shot.evaluate_episodes(never, x, y.astype("float32"))
        with pytest.raises(ValueError, match="`y`.*150"):
            kt.few_shot.evaluate_episodes(never, x, y[:-1])
        with pytest.raises(ValueError, match="fewer"):
            kt.few_shot.evaluate_episodes(never, x, y, k_shot=20, queries=15)
        with pytest.raises(TypeError, match="`embed_fn_or_model`"):
            kt.few_shot.evaluate_episodes("resnet", x, y, episodes=1)


def test_episode_result_string_and_pairing_fields():
    result = kt.few_shot.EpisodeResult.from_accuracies([1.0, 0.5], n_way=2, k_shot=1, queries=2, head="linear")
    assert "0.7500 ±" in str(result) and "2-way 1-shot" in str(result)
    assert result.episodes == 2 and keras.ops.convert_to_numpy(result.accuracies).tolist() == [1.0, 0.5]
