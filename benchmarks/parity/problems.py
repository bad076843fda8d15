"""The parity problems: data, the shared networks and the training settings of each pair.

Every method of the table trains on a `Problem` with the networks built by
`networks(problem, seed)`: both libraries start from the very same initial
weights (ADAPT clones the networks it is given and copies their weights).
"""

import dataclasses

import keras
import numpy as np

from benchmarks import domain_adaptation as da_benchmark

PAIRS = ("moons", "digits", "fmnist")


@dataclasses.dataclass
class Problem:
    """Arrays of one pair and how every method trains on it."""

    name: str
    x_source: np.ndarray
    y_source: np.ndarray
    x_target: np.ndarray  # unlabelled, used for training
    x_val: np.ndarray  # labelled target validation split (model selection only, never for training)
    y_val: np.ndarray
    x_test: np.ndarray  # labelled target test split: the reported accuracy
    y_test: np.ndarray
    num_classes: int
    epochs: int
    batch: int
    learning_rate: float
    description: str

    @property
    def steps_per_epoch(self):
        """ADAPT's and ours: one pass over the longer domain, in batches (the last one rounded up)."""
        return -(-max(len(self.x_source), len(self.x_target)) // self.batch)

    def settings(self):
        return (f"{self.description}; source {len(self.x_source)}, target {len(self.x_target)} (unlabelled), "
                f"target val {len(self.x_val)}, target test {len(self.x_test)}; Adam({self.learning_rate:g}), "
                f"batch {self.batch} per domain, {self.epochs} epochs of {self.steps_per_epoch} steps")


def _rotate(x, degrees, centre):
    theta = np.deg2rad(degrees)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return (x - centre) @ rotation.T + centre


def moons(quick=False, degrees=35.0):
    """Two moons (noise 0.1); the target rotated by `degrees` about the source's centre."""
    from sklearn.datasets import make_moons

    x_s, y_s = make_moons(600, noise=0.1, random_state=0)
    centre = x_s.mean(axis=0)
    parts = [make_moons(n, noise=0.1, random_state=r) for n, r in ((600, 1), (300, 2), (1000, 3))]
    (x_t, _), (x_v, y_v), (x_test, y_test) = [(_rotate(x, degrees, centre), y) for x, y in parts]
    f32 = lambda a: a.astype("float32")  # noqa: E731
    return Problem(
        "moons", f32(x_s), y_s, f32(x_t), f32(x_v), y_v, f32(x_test), y_test, num_classes=2,
        epochs=5 if quick else 100, batch=32, learning_rate=1e-3,
        description=f"two moons (noise 0.1), target rotated by {degrees:g} degrees; encoder 2-64-64 (ReLU), "
                    "softmax head",
    )


def digits(quick=False):
    """Printed font digits (labelled) -> UCI handwritten digits, `benchmarks/domain_adaptation.py`'s split."""
    data = da_benchmark.load_pair("digits", quick=quick)
    return Problem(
        "digits", *(data[k] for k in ("x_source", "y_source", "x_target", "x_val", "y_val", "x_test", "y_test")),
        num_classes=10, epochs=2 if quick else 8, batch=64, learning_rate=1e-3,
        description="font digits -> UCI digits (8x8, per-image standardised); encoder Conv32-Conv32-Pool-Dense64 "
                    "with BatchNorm (benchmarks/domain_adaptation.py), softmax head",
    )


def fmnist(quick=False, epochs=None):
    """Fashion-MNIST -> Fashion-MNIST-M, `benchmarks/domain_adaptation.py`'s split."""
    data = da_benchmark.load_pair("fmnist", quick=quick)
    return Problem(
        "fmnist", *(data[k] for k in ("x_source", "y_source", "x_target", "x_val", "y_val", "x_test", "y_test")),
        num_classes=10, epochs=epochs or (1 if quick else 2), batch=64, learning_rate=1e-3,
        description="Fashion-MNIST -> Fashion-MNIST-M (28x28x3, per-image standardised); encoder "
                    "Conv16-Pool-Conv32-Pool-Dense64 with BatchNorm (benchmarks/domain_adaptation.py), softmax head",
    )


LOADERS = {"moons": moons, "digits": digits, "fmnist": fmnist}


def load(name, quick=False, **kwargs):
    return LOADERS[name](quick=quick, **kwargs)


# ----------------------------------------------------------------------------- networks
def encoder(problem):
    if problem.name == "moons":
        return keras.Sequential([keras.Input((2,)), keras.layers.Dense(64, activation="relu"),
                                 keras.layers.Dense(64, activation="relu")], name="encoder")
    return da_benchmark.encoder(problem.name, problem.x_source.shape[1:])


def task(problem, features=64):
    return keras.Sequential([keras.Input((features,)), keras.layers.Dense(problem.num_classes, activation="softmax")],
                            name="task")


def discriminator(inputs, hidden=64):
    """ADAPT's discriminator: one hidden ReLU layer, a sigmoid unit (ours: the same layers, a logit)."""
    return keras.Sequential([keras.Input((inputs,)), keras.layers.Dense(hidden, activation="relu"),
                             keras.layers.Dense(1, activation="sigmoid")], name="discriminator")


def networks(problem, seed, discriminator_inputs=None):
    """`(encoder, task, discriminator or None)`, initialised from `seed`."""
    keras.utils.set_random_seed(seed)
    enc, head = encoder(problem), task(problem)
    return enc, head, None if discriminator_inputs is None else discriminator(discriminator_inputs)


def clone(model):
    """A new model of the same architecture and weights (each library trains its own copy)."""
    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    return twin


def one_hot(problem):
    return np.eye(problem.num_classes, dtype="float32")[problem.y_source]
