"""Fashion-MNIST-M: Fashion-MNIST items blended over patches of real photographs."""

import os

import numpy as np

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.data.fashion_mnist import load_fashion_mnist


def _photos():
    from sklearn.datasets import load_sample_images

    images = load_sample_images().images  # two 427x640 RGB photographs shipped with scikit-learn
    return np.stack([np.asarray(image, "float32") for image in images])


@keras_transfer_export("keras_transfer.data.blend_with_photos")
def blend_with_photos(images, *, seed=0, min_patch=28, max_patch=112, batch_size=4096):
    """Blends grayscale images over random patches of real photographs, as MNIST-M.

    Each image `x` gets its own patch `p` of one of the two photographs of
    `sklearn.datasets.load_sample_images()` (a random square of side
    `min_patch`..`max_patch` pixels, resized to the image size, randomly
    flipped) and becomes `|p - x|` per colour channel: the object stays
    visible as an inverted silhouette over a textured, coloured background.
    Deterministic for a given `seed`.

    Args:
        images: uint8 array `(n, height, width)` (or `(n, height, width, 1)`).
        seed: int, seed of the patch positions, sizes and flips.
        min_patch: int, smallest patch side in photo pixels.
        max_patch: int, largest patch side in photo pixels.
        batch_size: int, images processed at once.

    Returns:
        uint8 array `(n, height, width, 3)`.

    Example:

    >>> import numpy as np, keras_transfer
    >>> items = np.zeros((2, 28, 28), "uint8"); items[:, 10:18, 10:18] = 255
    >>> blended = keras_transfer.data.blend_with_photos(items, seed=0)
    >>> blended.shape, blended.dtype
    ((2, 28, 28, 3), dtype('uint8'))
    >>> bool(np.array_equal(blended, keras_transfer.data.blend_with_photos(items, seed=0)))
    True

    Reference:
        Ganin et al., "Domain-Adversarial Training of Neural Networks", JMLR
        2016 (MNIST-M, section 5.2).
    """
    import tensorflow as tf

    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3:
        raise _checks.invalid("images", "grayscale images (n, height, width)", f"shape {images.shape}")
    seed = _checks.check_int("seed", seed)
    min_patch = _checks.check_int("min_patch", min_patch, minimum=2)
    max_patch = _checks.check_int("max_patch", max_patch, minimum=min_patch)
    photos = _photos()
    n, height, width = images.shape
    photo_h, photo_w = photos.shape[1:3]
    if max_patch > min(photo_h, photo_w):
        raise _checks.invalid("max_patch", f"an integer <= {min(photo_h, photo_w)}", max_patch)
    rng = np.random.default_rng(seed)
    which = rng.integers(0, len(photos), n)
    side = rng.integers(min_patch, max_patch + 1, n)
    top = rng.integers(0, photo_h - side + 1)
    left = rng.integers(0, photo_w - side + 1)
    flip = rng.random(n) < 0.5
    boxes = np.stack(
        [top / (photo_h - 1), left / (photo_w - 1), (top + side - 1) / (photo_h - 1), (left + side - 1) / (photo_w - 1)],
        axis=1,
    ).astype("float32")
    boxes[flip] = boxes[flip][:, [0, 3, 2, 1]]  # x1 > x2 flips the crop horizontally
    out = np.empty((n, height, width, 3), "uint8")
    photos_tensor = tf.constant(photos)
    for start in range(0, n, batch_size):
        stop = min(n, start + batch_size)
        patches = tf.image.crop_and_resize(
            photos_tensor, boxes[start:stop], which[start:stop].astype("int32"), (height, width)
        ).numpy()
        blended = np.abs(patches - images[start:stop, :, :, None].astype("float32"))
        out[start:stop] = np.clip(np.round(blended), 0, 255).astype("uint8")
    return out


@keras_transfer_export("keras_transfer.data.load_fashion_mnist_m")
def load_fashion_mnist_m(*, seed=0, cache_dir=None, fashion_mnist_dir=None):
    """Fashion-MNIST-M: every Fashion-MNIST image blended over a photo patch.

    Built from Fashion-MNIST (`load_fashion_mnist`) and the photographs shipped
    with scikit-learn by `blend_with_photos`, like MNIST-M from MNIST: the
    same items and labels in a shifted, coloured domain. Deterministic for a
    given `seed` (train and test images get independent patches). Building it
    takes a few seconds; with `cache_dir` the arrays are saved there
    (`fashion_mnist_m_seed{seed}.npz`) and loaded on later calls.

    Args:
        seed: int, seed of the patches.
        cache_dir: directory to cache the arrays in, or `None` (no cache).
        fashion_mnist_dir: passed to `load_fashion_mnist(directory=...)`.

    Returns:
        `((x_train, y_train), (x_test, y_test))`: images `(n, 28, 28, 3)`
        uint8, labels `(n,)` uint8 in 0..9.

    Example:

    >>> import keras_transfer
    >>> (x, y), _ = keras_transfer.data.load_fashion_mnist_m(seed=0)  # doctest: +SKIP
    >>> x.shape  # doctest: +SKIP
    (60000, 28, 28, 3)
    """
    seed = _checks.check_int("seed", seed)
    path = None
    if cache_dir is not None:
        path = os.path.join(os.fspath(cache_dir), f"fashion_mnist_m_seed{seed}.npz")
        if os.path.isfile(path):
            with np.load(path) as cached:
                return (cached["x_train"], cached["y_train"]), (cached["x_test"], cached["y_test"])
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(fashion_mnist_dir)
    x_train = blend_with_photos(x_train, seed=seed)
    x_test = blend_with_photos(x_test, seed=seed + 1_000_003)
    if path is not None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        np.savez_compressed(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return (x_train, y_train), (x_test, y_test)
