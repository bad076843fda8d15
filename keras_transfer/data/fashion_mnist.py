"""Fashion-MNIST, offline first."""

import gzip
import os

import numpy as np

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
"""The ten Fashion-MNIST class names, in label order (label `i` is `FASHION_MNIST_CLASSES[i]`)."""
keras_transfer_export("keras_transfer.data.FASHION_MNIST_CLASSES")(FASHION_MNIST_CLASSES)
_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
DEFAULT_DIRECTORIES = (
    "/usr/share/datasets/fashion-mnist",  # Debian package dataset-fashion-mnist
    os.path.join(os.path.expanduser("~"), ".keras", "datasets", "fashion-mnist"),  # Keras cache
)


def _read_idx(path, offset):
    with gzip.open(path, "rb") as handle:
        return np.frombuffer(handle.read(), np.uint8, offset=offset)


def _find_directory(directories):
    for directory in directories:
        if directory and all(os.path.isfile(os.path.join(directory, f)) for f in _FILES.values()):
            return directory
    return None


@keras_transfer_export("keras_transfer.data.load_fashion_mnist")
def load_fashion_mnist(directory=None, *, download=True):
    """Loads Fashion-MNIST as uint8 arrays, without the internet when possible.

    Looks, in order, in `directory`, in `/usr/share/datasets/fashion-mnist`
    (Debian's `dataset-fashion-mnist` package) and in the Keras cache
    (`~/.keras/datasets/fashion-mnist`); only then downloads through
    `keras.datasets.fashion_mnist` (unless `download=False`).

    Returns:
        `((x_train, y_train), (x_test, y_test))`: images `(n, 28, 28)` uint8,
        labels `(n,)` uint8 in 0..9 (`FASHION_MNIST_CLASSES`).

    Example:

    >>> import keras_transfer
    >>> (x, y), _ = keras_transfer.data.load_fashion_mnist()  # doctest: +SKIP
    >>> x.shape, y.max()  # doctest: +SKIP
    ((60000, 28, 28), 9)
    """
    if directory is not None and not isinstance(directory, (str, os.PathLike)):
        raise _checks.invalid("directory", "a directory path (str or os.PathLike) or None", directory, error=TypeError)
    found = _find_directory([directory, *DEFAULT_DIRECTORIES])
    if found is None:
        if not download:
            raise FileNotFoundError(
                "Fashion-MNIST not found in "
                + ", ".join(d for d in [directory, *DEFAULT_DIRECTORIES] if d)
                + ". Install Debian's `dataset-fashion-mnist` package or pass `directory=`."
            )
        import keras

        return keras.datasets.fashion_mnist.load_data()
    arrays = {}
    for key, name in _FILES.items():
        path = os.path.join(found, name)
        if key.startswith("x"):
            arrays[key] = _read_idx(path, 16).reshape(-1, 28, 28)
        else:
            arrays[key] = _read_idx(path, 8)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
