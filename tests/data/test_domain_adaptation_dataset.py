import numpy as np
import pytest
import tensorflow as tf

import keras_transfer as kt
from tests.test_case import TestCase

RNG = np.random.default_rng(0)
X_S = RNG.normal(size=(10, 3, 2)).astype("float32")
Y_S = np.arange(10) % 3
X_T = RNG.normal(size=(25, 3, 2))


def collect(data):
    return [(x["source"].numpy(), x["target"].numpy(), [r.numpy() for r in rest]) for x, *rest in data]


class TestDomainAdaptationDataset(TestCase):
    def test_the_longer_domain_sets_the_epoch_and_the_shorter_repeats(self):
        data = kt.data.domain_adaptation_dataset(source=(X_S, Y_S), target=X_T, batch_size=4, seed=1)
        batches = collect(data)
        assert len(batches) == 7 == int(data.cardinality())  # ceil(25 / 4)
        assert all(b[0].shape == (4, 3, 2) for b in batches)  # the repeated source: full batches
        assert [b[1].shape[0] for b in batches] == [4] * 6 + [1]
        targets = np.concatenate([b[1] for b in batches])
        assert sorted(map(tuple, targets.reshape(25, -1).round(5))) == sorted(
            map(tuple, X_T.astype("float32").reshape(25, -1).round(5)))  # each target sample once
        assert targets.dtype == np.float32  # float64 arrays become float32
        sources = np.concatenate([b[0] for b in batches])
        labels = np.concatenate([b[2][0] for b in batches])
        for x, y in zip(sources, labels):  # pairs stay together through shuffling
            assert Y_S[np.argmin(np.abs(X_S - x).sum(axis=(1, 2)))] == y
        again = collect(kt.data.domain_adaptation_dataset(source=(X_S, Y_S), target=X_T, batch_size=4, seed=1))
        self.assertAllEqual(np.concatenate([b[1] for b in again]), targets)  # seeded

    def test_source_longer_weights_and_batch_pair(self):
        weights = np.linspace(0, 1, 10).astype("float32")
        data = kt.data.domain_adaptation_dataset(source=(X_S, Y_S, weights), target=X_T[:3], batch_size=(5, 2),
                                                 shuffle=False)
        batches = collect(data)
        assert len(batches) == 2 and [b[1].shape[0] for b in batches] == [2, 2]
        self.assertAllEqual(batches[0][2][1], weights[:5])
        self.assertAllEqual(batches[1][2][0], Y_S[5:])

    def test_tf_data_on_both_sides(self):
        source = tf.data.Dataset.from_tensor_slices((X_S, Y_S))
        target = tf.data.Dataset.from_tensor_slices(X_T.astype("float32"))
        data = kt.data.domain_adaptation_dataset(source=source, target=target, batch_size=5)
        batches = collect(data)
        assert len(batches) == 5 and batches[0][1].shape == (5, 3, 2)
        infinite = kt.data.domain_adaptation_dataset(source=source.repeat(), target=target, batch_size=5)
        assert len(collect(infinite.take(9))) == 9

    def test_bad_input(self):
        build = kt.data.domain_adaptation_dataset
        with pytest.raises(ValueError, match=r"`target`.*unlabelled target-domain inputs.*Received: target=None"):
            build(source=(X_S, Y_S), target=None, batch_size=4)
        with pytest.raises(ValueError, match=r"`target`.*same shape as the source inputs, \(3, 2\).*\(2, 3\)"):
            build(source=(X_S, Y_S), target=np.zeros((5, 2, 3)), batch_size=4)
        with pytest.raises(ValueError, match=r"`source`.*labels are missing"):
            build(source=X_S, target=X_T, batch_size=4)
        with pytest.raises(ValueError, match=r"`source`.*class ids in \[0, 1\].*labels from 0 to 2"):
            build(source=(X_S, Y_S), target=X_T, batch_size=4, num_classes=2)
        with pytest.raises(ValueError, match=r"`source`.*class ids >= 0"):
            build(source=(X_S, Y_S - 1), target=X_T, batch_size=4)
        with pytest.raises(ValueError, match=r"`source`.*one entry per input \(10\).*lengths \[10, 7\]"):
            build(source=(X_S, Y_S[:7]), target=X_T, batch_size=4)
        with pytest.raises(ValueError, match=r"`source`.*at least one sample"):
            build(source=(X_S[:0], Y_S[:0]), target=X_T, batch_size=4)
        with pytest.raises(ValueError, match=r"`target`.*at least one sample"):
            build(source=(X_S, Y_S), target=X_T[:0], batch_size=4)
        with pytest.raises(ValueError, match=r"`batch_size`.*>= 1"):
            build(source=(X_S, Y_S), target=X_T, batch_size=0)
        with pytest.raises(TypeError, match=r"`target`.*unlabelled"):
            build(source=(X_S, Y_S), target=(X_T, Y_S), batch_size=4)
        labelled = tf.data.Dataset.from_tensor_slices((X_T, np.zeros(25)))
        with pytest.raises(ValueError, match=r"`target`.*map\(lambda x, y: x\)"):
            build(source=(X_S, Y_S), target=labelled, batch_size=4)
        with pytest.raises(ValueError, match=r"`source`.*labels missing"):
            build(source=tf.data.Dataset.from_tensor_slices(X_S), target=X_T, batch_size=4)
        with pytest.raises(ValueError, match=r"`source`.*non-empty"):
            build(source=tf.data.Dataset.from_tensor_slices((X_S, Y_S)).take(0), target=X_T, batch_size=4)

    def test_labels_and_weights_stay_with_their_inputs_across_reshuffled_epochs(self):
        # In-memory sources are shuffled array by array with one shared seed (no `map` in the
        # pipeline): each epoch keeps every input with its label and weight, and reshuffles.
        import keras

        x = np.repeat(np.arange(20, dtype="float32")[:, None], 2, axis=1)
        y, w = np.arange(20) % 5, np.arange(20, dtype="float32") / 20

        def epochs(seed, count=3):
            keras.utils.set_random_seed(7)
            data = kt.data.domain_adaptation_dataset(source=(x, y, w), target=X_T[:10, 0, :], batch_size=6, seed=seed)
            orders = []
            for _ in range(count):
                rows = []
                for inputs, labels, weights in data:
                    index = inputs["source"][:, 0].numpy().astype(int)
                    self.assertAllEqual(labels, y[index])
                    self.assertAllClose(weights, w[index])
                    rows.append(index)
                orders.append(np.concatenate(rows))
            return orders

        for seed in (None, 3):
            orders = epochs(seed)
            assert all(sorted(order) == list(range(20)) for order in orders)  # each source example once per epoch
            assert any(not np.array_equal(orders[0], order) for order in orders[1:])  # reshuffled
            self.assertAllEqual(epochs(seed, 1)[0], orders[0])  # reproducible after keras.utils.set_random_seed
