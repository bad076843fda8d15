"""CCSA and labelled target batches under MirroredStrategy over two logical CPUs match one device."""

import pytest

from tests.distributed import run_distributed

BODY = """
import contextlib
rng = np.random.default_rng(0)
xs, ys = rng.normal(size=(32, 5)).astype("float32"), rng.integers(0, 3, 32)
xt = rng.normal(1.0, 1.0, size=(32, 5)).astype("float32")
xl, yl = xt[:8], np.arange(8) % 3

def train(scope, alignment, target):
    keras.utils.set_random_seed(0)
    with scope:
        features = keras.Sequential([keras.Input((5,)), keras.layers.Dense(6, activation="tanh")])
        classifier = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3, activation="softmax")])
        model = kt.models.DomainAdaptationModel(features, classifier, alignment(), labelled_target_weight=0.5)
        model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
    data = kt.data.domain_adaptation_dataset(source=(xs, ys), target=xt if target else None, batch_size=8,
                                             labelled_target=(xl, yl), shuffle=False)
    return model, model.fit(data, epochs=2, verbose=0).history

# CCSA's pairs are those of the global batch (features and labels gathered); the labelled
# examples' task loss is scaled per replica: two replicas train the weights of one device.
for name, alignment, target in (("ccsa", kt.losses.ContrastiveSemanticAlignment, False),
                                ("mmd+labelled", kt.losses.MMD, True)):
    mirrored, h2 = train(strategy.scope(), alignment, target)
    single, h1 = train(contextlib.nullcontext(), alignment, target)
    worst = max(float(np.max(np.abs(a.numpy() - b.numpy()))) for a, b in zip(single.weights, mirrored.weights))
    print(name, worst)
    assert worst < 1e-5, (name, worst)
    for key in ("loss", "task_loss", "alignment_loss"):
        assert np.allclose(h1[key], h2[key], rtol=1e-5), (name, key, h1[key], h2[key])
print("OK")
"""


@pytest.mark.large  # slow (15-45 s); the default run stays under its budget
def test_labelled_target_batches_on_two_replicas_match_one_device():
    run_distributed(BODY)
