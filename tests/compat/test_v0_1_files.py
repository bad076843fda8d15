"""`.keras` files saved by keras_transfer 0.1.0 load without `custom_objects` and predict the same.

The files were written by `tests/compat/make_v0_1_files.py` before the
package was reorganised (modules moved, one base model, group-keyed
optimizer configs): the class names under which Keras registered them, the
configs and the optimizer state they hold must keep loading.
"""

import glob
import os

import keras
import numpy as np
import pytest

import keras_transfer as kt

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "v0_1")
NAMES = sorted(os.path.basename(p)[: -len(".keras")] for p in glob.glob(os.path.join(HERE, "*.keras")))


def test_the_files_are_there():
    assert len(NAMES) == 8, NAMES


@pytest.mark.parametrize("name", NAMES)
def test_loads_and_predicts_the_same(name):
    model = keras.models.load_model(os.path.join(HERE, f"{name}.keras"))
    with np.load(os.path.join(HERE, f"{name}.npz")) as saved:
        keys = sorted(k for k in saved.files if k.startswith("inputs"))
        inputs = saved["inputs"] if keys == ["inputs"] else [saved[k] for k in keys]
        expected = saved["predictions"]
    np.testing.assert_allclose(model.predict(inputs, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_a_loaded_group_optimizer_keeps_its_multipliers_and_trains_on():
    model = keras.models.load_model(os.path.join(HERE, "transfer_classifier_group_optimizer.keras"))
    optimizer = model.optimizer
    assert isinstance(optimizer, kt.optimizers.GroupOptimizer)
    conv_a = model.backbone.get_layer("conv_a")
    # DiscriminativeLR(decay=0.5) over (conv_a, conv_b, head): conv_a's update is scaled by 0.25.
    assert optimizer.multiplier(conv_a.kernel) == pytest.approx(0.25)
    iterations = int(optimizer.iterations)
    x = np.random.default_rng(0).uniform(0, 255, (8, 8, 8, 1)).astype("float32")
    model.fit(x, np.arange(8) % 2, epochs=1, batch_size=8, verbose=0)
    assert int(optimizer.iterations) == iterations + 1
