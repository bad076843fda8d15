"""FreezeSchedule and DiscriminativeLR work unchanged on text models."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from tests.distributed import run_distributed
from tests.test_case import TestCase
from tests.text.tiny_preset import sentiment_texts

TEXTS, LABELS = sentiment_texts(8)


def snapshot(model):
    return {v.path: np.array(v) for v in model.weights}


def moved_groups(model, before):
    """Group names whose weights changed since `before`."""
    moved = []
    for name, layers in model.layer_groups.items():
        paths = {v.path for layer in layers for v in layer.weights}
        if any(not np.array_equal(before[p], np.array(v)) for v in model.weights if (p := v.path) in paths):
            moved.append(name)
    return moved


class EpochSnapshots(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.snapshots = []

    def on_epoch_begin(self, epoch, logs=None):
        self.snapshots.append(snapshot(self.model))


class TestDiscriminativeLROnText(TestCase):
    def test_layerwise_decay_reaches_the_optimizer_as_a_geometric_series(self, tiny_preset_no_dropout):
        updates = {}
        for name, callbacks in (("decayed", [kt.callbacks.DiscriminativeLR(decay=0.5)]), ("plain", [])):
            keras.utils.set_random_seed(3)
            model = kt.build_text_classifier(tiny_preset_no_dropout, 2, freeze=False)
            before = snapshot(model)
            model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
            model.fit(TEXTS, LABELS, batch_size=8, epochs=1, shuffle=False, callbacks=callbacks, verbose=0)
            updates[name] = {v.path: np.abs(np.array(v) - before[v.path]) for v in model.trainable_variables}
            if callbacks:
                callback, decayed_model = callbacks[0], model
        expected = {"embeddings": 0.125, "transformer_layer_0": 0.25, "transformer_layer_1": 0.5, "head": 1.0}
        assert callback.group_multipliers == expected
        multipliers = decayed_model.optimizer.variable_multipliers()
        for group, layers in decayed_model.layer_groups.items():
            for variable in (v for layer in layers for v in layer.trainable_weights):
                assert multipliers.get(variable.path, 1.0) == expected[group], variable.path
                # Adam normalises gradients: only a scaled *update* gives these ratios.
                plain, decayed = updates["plain"][variable.path], updates["decayed"][variable.path]
                if plain.max() > 1e-7:
                    np.testing.assert_allclose(decayed, expected[group] * plain, rtol=2e-3, atol=1e-8)
        assert multipliers["token_embedding/embeddings"] == 0.125
        assert multipliers["transformer_layer_1/self_attention_layer/query/kernel"] == 0.5


class TestFreezeScheduleOnText(TestCase):
    def run_schedule(self, preset, jit_compile):
        model = kt.build_text_classifier(preset, 2)  # encoder frozen, head trains
        model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", jit_compile=jit_compile)
        snapshots = EpochSnapshots()
        schedule = kt.callbacks.FreezeSchedule({1: ["transformer_layer_1"], 2: "all"})
        history = model.fit(TEXTS, LABELS, batch_size=8, epochs=3, callbacks=[schedule, snapshots], verbose=0)
        assert history.history["freeze_stage"] == [0.0, 1.0, 2.0]
        epochs = snapshots.snapshots + [snapshot(model)]
        per_epoch = []
        for before, after in zip(epochs[:-1], epochs[1:]):
            per_epoch.append([name for name in model.layer_groups if any(
                not np.array_equal(before[v.path], after[v.path])
                for layer in model.layer_groups[name] for v in layer.weights
            )])
        assert per_epoch == [
            ["head"],
            ["transformer_layer_1", "head"],
            ["embeddings", "transformer_layer_0", "transformer_layer_1", "head"],
        ]

    def test_groups_unfreeze_on_schedule(self, tiny_preset):
        self.run_schedule(tiny_preset, jit_compile=False)

    @pytest.mark.large
    def test_groups_unfreeze_on_schedule_with_jit_compile(self, tiny_preset):
        self.run_schedule(tiny_preset, jit_compile=True)


@pytest.mark.large  # a subprocess with two logical CPUs
def test_text_fit_with_layerwise_decay_in_mirrored_strategy(tiny_preset_no_dropout):
    run_distributed(
        f"""
        import contextlib
        from tests.text.tiny_preset import sentiment_texts
        texts, labels = sentiment_texts(16)

        def train(scope):
            keras.utils.set_random_seed(11)
            with scope:
                model = kt.build_text_classifier({tiny_preset_no_dropout!r}, 2, freeze=False)
                model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
            history = model.fit(texts, labels, batch_size=8, epochs=1, shuffle=False, verbose=0,
                                callbacks=[kt.callbacks.DiscriminativeLR(decay=0.5)])
            assert np.isfinite(history.history["loss"][0])
            return [v.numpy() for v in model.weights]

        mirrored = train(strategy.scope())
        single = train(contextlib.nullcontext())
        worst = max(float(np.abs(a - b).max()) for a, b in zip(mirrored, single))
        print("max difference", worst)
        assert worst < 1e-4, worst
        print("OK")
        """
    )
