"""A few labelled target examples: `domain_adaptation_dataset(labelled_target=...)` and `DomainAdaptationModel`'s task loss."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from tests.domain_adaptation.test_ccsa import blobs, parts
from tests.test_case import TestCase

X_S, Y_S = blobs(96, 0.0, 0)
X_T, Y_T = blobs(96, 1.5, 1, rotate=2.0)  # rotated by ~115 degrees: the source boundary misplaces every class
X_L, Y_L = X_T[:6], Y_T[:6]


def dataset(labelled=(X_L, Y_L), **kwargs):
    kwargs = {"source": (X_S, Y_S), "target": X_T, "batch_size": 16, "seed": 0, **kwargs}
    return kt.data.domain_adaptation_dataset(labelled_target=labelled, **kwargs)


class TestDataset(TestCase):
    def test_a_labelled_batch_at_every_step(self):
        batches = list(dataset(batch_size=(8, 4)))
        assert len(batches) == 24  # the longer unlabelled target sets the epoch: 96 / 4
        for x, y in batches:
            assert sorted(x) == ["labelled_target", "labelled_target_labels", "source", "target"]
            assert x["labelled_target"].shape == (4, 2) and x["labelled_target_labels"].shape == (4,)
            for example, label in zip(x["labelled_target"].numpy(), x["labelled_target_labels"].numpy()):
                assert Y_L[np.argmin(np.abs(X_L - example).sum(-1))] == label  # pairs stay together
        seen = np.concatenate([x["labelled_target"].numpy() for x, _ in batches])
        assert {tuple(r) for r in seen.round(5)} == {tuple(r) for r in X_L.round(5)}  # repeated, all of them
        # no unlabelled target: the source sets the epoch
        only = list(dataset(target=None))
        assert len(only) == 6 and sorted(only[0][0]) == ["labelled_target", "labelled_target_labels", "source"]

    def test_bad_input(self):
        with pytest.raises(ValueError, match=r"`labelled_target`.*a tuple \(x, y\).*Received: labelled_target="):
            dataset(labelled=X_L)
        with pytest.raises(ValueError, match=r"`labelled_target`.*a tuple \(x, y\)"):
            dataset(labelled=(X_L, Y_L, np.ones(6)))
        with pytest.raises(ValueError, match=r"`labelled_target`.*same shape as the source inputs"):
            dataset(labelled=(np.zeros((6, 3)), Y_L))
        with pytest.raises(ValueError, match=r"`labelled_target`.*format of the source labels.*shape \(3,\)"):
            dataset(labelled=(X_L, np.eye(3)[Y_L]))
        with pytest.raises(ValueError, match=r"`labelled_target`.*class ids in \[0, 1\]"):
            dataset(source=(X_S[Y_S < 2], Y_S[Y_S < 2]), num_classes=2)
        with pytest.raises(ValueError, match=r"`labelled_target`.*one entry per input \(6\)"):
            dataset(labelled=(X_L, Y_L[:4]))
        with pytest.raises(ValueError, match=r"`target`.*Received: target=None"):
            dataset(labelled=None, target=None)
        with pytest.raises(TypeError, match=r"`target`.*labelled_target=\(x_l, y_l\)"):
            dataset(labelled=None, target=(X_L, Y_L))


def _model(alignment="dann", **kwargs):
    head = {"dann": lambda: kt.layers.DomainAdversarialHead((8,)), "mmd": kt.losses.MMD, "none": lambda: None}
    return kt.models.DomainAdaptationModel(*parts(), alignment=head[alignment](), **kwargs)


class TestTaskLoss(TestCase):
    @pytest.mark.parametrize("weight,sample_weight", [(1.0, False), (0.25, True)])
    def test_task_loss_is_the_compiled_loss_on_both_batches(self, weight, sample_weight):
        model = _model("mmd", labelled_target_weight=weight)
        model.compile(keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy")
        xs, ys, w = X_S[:8], Y_S[:8], np.linspace(0.5, 2.0, 8).astype("float32")
        batch = {"source": xs, "target": X_T[10:18], "labelled_target": X_L, "labelled_target_labels": Y_L}
        logs = model.train_on_batch(batch, ys, sample_weight=w if sample_weight else None, return_dict=True)
        ce = keras.losses.sparse_categorical_crossentropy
        source = ce(ys, model.predict(xs, verbose=0)).numpy() * (w if sample_weight else 1.0)
        target = ce(Y_L, model.predict(X_L, verbose=0)).numpy() * weight
        assert logs["task_loss"] == pytest.approx((source.sum() + target.sum()) / 14, rel=1e-5)

    def test_weight_zero_trains_as_without_them(self):
        finals = []
        for labelled, weight in (((X_L, Y_L), 0.0), (None, 1.0)):
            keras.utils.set_random_seed(0)
            model = _model("mmd", labelled_target_weight=weight)
            model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
            model.fit(dataset(labelled=labelled), epochs=2, verbose=0)
            finals.append([v.numpy() for v in model.weights])
        for a, b in zip(*finals):
            self.assertAllClose(a, b, atol=1e-6)

    def test_a_few_target_labels_fix_a_rotated_target(self):
        accuracy = {}
        for labelled in ((X_L, Y_L), None):
            keras.utils.set_random_seed(0)
            model = _model("dann")
            model.compile(keras.optimizers.Adam(0.02), "sparse_categorical_crossentropy")
            model.fit(dataset(labelled=labelled), epochs=8, verbose=0)
            accuracy[labelled is not None] = np.mean(model.predict(X_T, verbose=0).argmax(-1) == Y_T)
        # Source labels alone place the rotated classes wrong; two labelled target examples per class fix it.
        assert accuracy[False] < 0.34 and accuracy[True] > 0.9, accuracy


def test_domain_adaptation_strategies_take_a_few_target_labels():
    for name in ("dann", "cdan", "mmd", "coral", "jan", "bsp", "mcc", "afn", "entropy", "mdd"):
        strategy = kt.strategies.get_strategy(name)
        assert "data" in strategy.accepts and strategy.requires == ("source", "target") and strategy.shared_labels
    for name in ("mcd", "adda", "wdgrl"):  # their models take no labelled target batches
        assert "data" not in kt.strategies.get_strategy(name).accepts


@pytest.mark.large
def test_a_domain_adaptation_strategy_trains_on_a_few_target_labels():
    from tests.test_case import tiny_backbone

    rng = np.random.default_rng(0)
    y = np.arange(24) % 3
    x = np.clip(rng.normal(0, 10, (24, 8, 8, 3)) + y[:, None, None, None] * 80 + 30, 0, 255).astype("float32")
    few = (x[:2] + 20.0, np.array([0, 1]))
    result = kt.transfer("coral", tiny_backbone((8, 8, 3)), few, source=(x, y), target=x + 20.0, epochs=1,
                         batch_size=8, seed=0, verbose=0, preprocessing="unit")
    assert result.model.predict(x[:2], verbose=0).shape == (2, 3)  # the source's 3 classes, not the 2 labelled
    assert result.details["adaptation_model"].labelled_target_weight == 1.0
    with pytest.raises(ValueError, match=r"`target`.*needs it"):
        kt.transfer("dann", tiny_backbone((8, 8, 3)), few, source=(x, y), preprocessing="unit")
