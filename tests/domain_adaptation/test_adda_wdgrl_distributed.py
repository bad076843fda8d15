"""WDGRL and ADDA under `MirroredStrategy` (two logical CPUs) train the weights of one device.

Both update their adversary with a second optimizer inside the step; WDGRL
also runs several critic updates per step and draws the interpolation
weights of the gradient penalty for the global batch (each replica keeps its
slice), so two replicas must match one device drawing the whole batch.
"""

import textwrap

import pytest

from tests.distributed import run_distributed
from tests.distributed.test_mirrored_parity import HELPERS

BODY = """
rng = np.random.default_rng(0)
xs, ys = rng.normal(size=(32, 5)).astype("float32"), rng.integers(0, 3, 32)
xt = rng.normal(1.0, 1.0, size=(32, 5)).astype("float32")

def parts():
    features = keras.Sequential([keras.Input((5,)), keras.layers.Dense(6, activation="tanh")])
    classifier = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3, activation="softmax")])
    return features, classifier

def adversary():
    return keras.Sequential([keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])

def fit(model):
    data = kt.data.domain_adaptation_dataset(source=(xs, ys), target=xt, batch_size=8, shuffle=False)
    return model.fit(data, epochs=2, verbose=0)

compiled = lambda: {"optimizer": keras.optimizers.SGD(0.05), "loss": "sparse_categorical_crossentropy",
                    "metrics": ["accuracy"]}
wdgrl, _ = parity("wdgrl", lambda: kt.models.WDGRL(*parts(), critic=adversary(), critic_steps=3, seed=0), fit,
                  compiled)
assert wdgrl.critic_optimizer.iterations.numpy() == 3 * 8
adda, history = parity("adda", lambda: kt.models.ADDA(*parts(), discriminator=adversary()), fit, compiled)
assert 0.0 < history["domain_accuracy"][-1] <= 1.0
"""


@pytest.mark.large  # slow (15-45 s); the default run stays under its budget
def test_wdgrl_and_adda_match_a_single_device_run():
    run_distributed(HELPERS + textwrap.dedent(BODY) + 'print("OK")\n')
