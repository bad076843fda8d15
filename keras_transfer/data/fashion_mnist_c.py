"""Fashion-MNIST-C: the Fashion-MNIST images under ImageNet-C corruptions."""

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.data.corruptions import _check_corruption
from keras_transfer.data.corruptions import corrupt
from keras_transfer.data.fashion_mnist import load_fashion_mnist

_SPLITS = ("test", "train")


@keras_transfer_export("keras_transfer.data.load_fashion_mnist_c")
def load_fashion_mnist_c(corruption, severity, *, seed=0, split="test", fashion_mnist_dir=None):
    """Fashion-MNIST-C: one split of Fashion-MNIST under one corruption and severity.

    Built from Fashion-MNIST (`load_fashion_mnist`) by `corrupt`, as CIFAR-10-C
    and ImageNet-C are built from their test sets: the same items and labels
    under a common corruption (noise, blur, fog, contrast, brightness,
    pixelation, JPEG), at severity 1 (mild) to 5 (strong). Deterministic for
    a given `seed`. Building the test split takes well under a second for
    most corruptions; the arguments are checked before the data is read.

    Args:
        corruption: str, one of `keras_transfer.data.CORRUPTIONS`.
        severity: int, 1 (mild) to 5 (strong).
        seed: int, seed of the random corruptions (noises, fog).
        split: `"test"` (10,000 images, the usual benchmark) or `"train"`
            (60,000 images).
        fashion_mnist_dir: passed to `load_fashion_mnist(directory=...)`.

    Returns:
        `(x, y)`: images `(n, 28, 28)` uint8, labels `(n,)` uint8 in 0..9,
        in the order of the clean split.

    Example:

    >>> import keras_transfer
    >>> x, y = keras_transfer.data.load_fashion_mnist_c("fog", 3)  # doctest: +SKIP
    >>> x.shape, x.dtype, y.shape  # doctest: +SKIP
    ((10000, 28, 28), dtype('uint8'), (10000,))

    Reference:
        Hendrycks and Dietterich, "Benchmarking Neural Network Robustness to
        Common Corruptions and Perturbations", ICLR 2019.
    """
    corruption, severity = _check_corruption(corruption, severity)
    seed = _checks.check_int("seed", seed, minimum=0)
    split = _checks.check_choice("split", split, _SPLITS)
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(fashion_mnist_dir)
    x, y = (x_test, y_test) if split == "test" else (x_train, y_train)
    return corrupt(x, corruption, severity, seed=seed), y
