"""ImageNet-C corruptions for small images: noise, blur, weather, digital."""

import numpy as np
from scipy import ndimage

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export

# Severity 1..5 parameters. ImageNet-C's own values where they do not depend on the
# image size; the spatial ones (blur radii, fog) shrunk for 28x28 images (see `corrupt`).
_SEVERITIES = {
    "gaussian_noise": (0.08, 0.12, 0.18, 0.26, 0.38),  # noise std, pixels in [0, 1]
    "shot_noise": (60, 25, 12, 5, 3),  # photons per unit intensity (Poisson rate)
    "impulse_noise": (0.03, 0.06, 0.09, 0.17, 0.27),  # fraction of salt-and-pepper values
    "defocus_blur": (0.75, 1.0, 1.25, 1.5, 2.0),  # disk radius in pixels
    "gaussian_blur": (0.4, 0.6, 0.8, 1.0, 1.5),  # standard deviation in pixels
    "contrast": (0.4, 0.3, 0.2, 0.1, 0.05),  # factor on the distance to the image mean
    "brightness": (0.1, 0.2, 0.3, 0.4, 0.5),  # added to the HSV value, pixels in [0, 1]
    "fog": ((0.4, 2.0), (0.7, 2.0), (1.0, 1.7), (1.5, 1.5), (2.0, 1.4)),  # (amount, roughness decay)
    "pixelate": (0.6, 0.5, 0.4, 0.3, 0.25),  # side of the downscaled image, fraction of the side
    "jpeg_compression": (25, 18, 15, 10, 7),  # JPEG quality
}

CORRUPTIONS = tuple(_SEVERITIES)
"""The names `corrupt` accepts, in ImageNet-C's order (noise, blur, weather, digital)."""
keras_transfer_export("keras_transfer.data.CORRUPTIONS")(CORRUPTIONS)


def _gaussian_noise(x, sigma, rng):
    return x + sigma * rng.standard_normal(x.shape, dtype="float32")


def _shot_noise(x, photons, rng):
    return rng.poisson(x * photons).astype("float32") / photons


def _impulse_noise(x, amount, rng):
    hit = rng.random(x.shape, dtype="float32") < amount
    salt = rng.random(x.shape, dtype="float32") < 0.5
    return np.where(hit, salt.astype("float32"), x)


def _disk(radius, supersample=16):
    """Anti-aliased disk: each kernel weight is the pixel's area inside the circle."""
    half = int(np.ceil(radius - 0.5))
    offsets = (np.arange(supersample) + 0.5) / supersample - 0.5
    grid = np.arange(-half, half + 1)[:, None] + offsets[None, :]  # sub-pixel centres, (pixel, sample)
    inside = grid[:, None, :, None] ** 2 + grid[None, :, None, :] ** 2 <= radius**2
    kernel = inside.mean(axis=(2, 3))
    return (kernel / kernel.sum()).astype("float32")


def _defocus_blur(x, radius, rng):
    return ndimage.convolve(x, _disk(radius)[None, :, :, None], mode="reflect")


def _gaussian_blur(x, sigma, rng):
    return ndimage.gaussian_filter(x, sigma=(0, sigma, sigma, 0), mode="reflect")


def _contrast(x, factor, rng):
    mean = x.mean(axis=(1, 2), keepdims=True)
    return (x - mean) * factor + mean


def _brightness(x, shift, rng):
    # Adding to the HSV value keeps hue and saturation: every channel scales by the
    # same factor new_value / value (a black pixel, of saturation 0, becomes grey).
    value = x.max(axis=-1, keepdims=True)
    new_value = np.minimum(value + shift, 1.0)
    scale = new_value / np.maximum(value, 1e-12)
    return np.where(value > 0, x * scale, new_value)


def _plasma(rng, n, size, decay):
    """`n` seeded plasma fractals (diamond-square on a torus), `(n, size, size)` in [0, 1]."""
    maps = np.zeros((n, size, size), "float32")
    step, wobble = size, 1.0
    while step >= 2:
        half = step // 2
        corners = maps[:, ::step, ::step]
        below, right = np.roll(corners, -1, 1), np.roll(corners, -1, 2)
        centres = (corners + below + right + np.roll(below, -1, 2)) / 4
        centres += wobble * rng.uniform(-1, 1, centres.shape).astype("float32")
        maps[:, half::step, half::step] = centres
        # the diamonds: midpoints of the square's edges, from the two corners and two centres around them
        top = (corners + right + np.roll(centres, 1, 1) + centres) / 4
        left = (corners + below + np.roll(centres, 1, 2) + centres) / 4
        maps[:, ::step, half::step] = top + wobble * rng.uniform(-1, 1, top.shape).astype("float32")
        maps[:, half::step, ::step] = left + wobble * rng.uniform(-1, 1, left.shape).astype("float32")
        step, wobble = half, wobble / decay
    maps -= maps.min(axis=(1, 2), keepdims=True)
    return maps / np.maximum(maps.max(axis=(1, 2), keepdims=True), 1e-12)


def _fog(x, params, rng):
    amount, decay = params
    n, height, width = x.shape[:3]
    size = 1 << int(np.ceil(np.log2(max(height, width, 2))))
    fog = _plasma(rng, n, size, decay)[:, :height, :width, None]
    peak = x.max(axis=(1, 2, 3), keepdims=True)
    return (x + amount * fog) * peak / (peak + amount)


def _area_matrix(size, small):
    """`(small, size)` weights of a box (area) downscaling from `size` to `small` pixels."""
    edges = np.arange(small + 1) * size / small
    pixels = np.arange(size)
    overlap = np.minimum(edges[1:, None], pixels + 1) - np.maximum(edges[:-1, None], pixels)
    return (np.maximum(overlap, 0) * small / size).astype("float32")


def _pixelate(x, fraction, rng):
    height, width = x.shape[1:3]
    small_h, small_w = max(1, int(height * fraction)), max(1, int(width * fraction))
    small = np.einsum("ah,nhwc,bw->nabc", _area_matrix(height, small_h), x, _area_matrix(width, small_w))
    rows = (np.arange(height) + 0.5) * small_h // height
    cols = (np.arange(width) + 0.5) * small_w // width
    return small[:, rows.astype(int)][:, :, cols.astype(int)]


def _jpeg_compression(images, quality):
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec((None,) + images.shape[1:], tf.uint8)])
    def roundtrip(batch):
        def one(image):
            return tf.io.decode_jpeg(tf.io.encode_jpeg(image, quality=quality), channels=images.shape[-1])

        return tf.map_fn(one, batch, fn_output_signature=tf.TensorSpec(images.shape[1:], tf.uint8))

    return roundtrip(tf.constant(images)).numpy()


_CORRUPT = {
    "gaussian_noise": _gaussian_noise, "shot_noise": _shot_noise, "impulse_noise": _impulse_noise,
    "defocus_blur": _defocus_blur, "gaussian_blur": _gaussian_blur, "contrast": _contrast,
    "brightness": _brightness, "fog": _fog, "pixelate": _pixelate,
}


def _check_images(images):
    array = np.asarray(images)
    if array.dtype != np.uint8:
        raise _checks.invalid("images", "a uint8 array (pixel values 0..255)", f"an array of dtype {array.dtype}", error=TypeError)
    if array.ndim not in (3, 4) or array.shape[0] == 0 or 0 in array.shape[1:3]:
        raise _checks.invalid("images", "a non-empty array (n, height, width) or (n, height, width, channels)", f"shape {array.shape}")
    if array.ndim == 4 and array.shape[-1] not in (1, 3):
        raise _checks.invalid("images", "1 (grayscale) or 3 (RGB) channels last", f"shape {array.shape}")
    return array


def _check_corruption(corruption, severity):
    if not isinstance(corruption, str):
        raise _checks.invalid("corruption", f"one of {', '.join(map(repr, CORRUPTIONS))}", corruption, error=TypeError)
    if corruption not in CORRUPTIONS:
        hint = _checks.suggest(corruption, CORRUPTIONS).strip()
        part = [name for name in CORRUPTIONS if corruption and corruption.lower() in name]  # "jpeg", "blur"
        if part and not hint:
            hint = f"Did you mean {', '.join(map(repr, part))}?"
        raise _checks.invalid("corruption", f"one of {', '.join(map(repr, CORRUPTIONS))}", corruption, hint or None)
    severity = _checks.check_int("severity", severity)
    if not 1 <= severity <= 5:
        raise _checks.invalid("severity", "an integer from 1 (mild) to 5 (strong)", severity)
    return corruption, severity


@keras_transfer_export("keras_transfer.data.corrupt")
def corrupt(images, corruption, severity, *, seed=0):
    """Applies one ImageNet-C corruption, at severity 1..5, to small uint8 images.

    The corruptions and their severity scales follow ImageNet-C. Where a parameter does
    not depend on the image size (noise levels, contrast and brightness factors, the
    pixelation fraction, the JPEG quality) it is ImageNet-C's own value; the spatial
    ones (blur radii, fog) are shrunk for 28x28 images, as the authors shrank them for
    32x32 CIFAR-10-C. Pixels are taken to [0, 1], corrupted, clipped and rounded back.

    - `gaussian_noise`: adds normal noise of std 0.08, 0.12, 0.18, 0.26, 0.38.
    - `shot_noise`: Poisson photon noise, `poisson(x * p) / p` with p = 60, 25, 12, 5, 3.
    - `impulse_noise`: salt and pepper: a fraction 0.03, 0.06, 0.09, 0.17, 0.27 of the
      values (each channel independently) becomes 0 or 255, half each.
    - `defocus_blur`: convolution with an anti-aliased disk of radius 0.75, 1, 1.25,
      1.5, 2 pixels (ImageNet-C: 3..10 pixels on 224x224 images).
    - `gaussian_blur`: `scipy.ndimage.gaussian_filter` over height and width with
      sigma 0.4, 0.6, 0.8, 1, 1.5 pixels (ImageNet-C: 1..6 pixels on 224x224 images).
    - `contrast`: `(x - mean) * c + mean` around each image's (per-channel) mean, with
      c = 0.4, 0.3, 0.2, 0.1, 0.05.
    - `brightness`: adds 0.1 .. 0.5 to the HSV value, clipped at 1 (hue and saturation
      kept); for grayscale images, to the pixel value.
    - `fog`: adds a seeded plasma fractal (diamond-square) of amount 0.4, 0.7, 1, 1.5, 2
      and roughness decay 2, 2, 1.7, 1.5, 1.4, then rescales to the image's peak value,
      `(x + a * fog) * peak / (peak + a)` (ImageNet-C: amount 1.5..3).
    - `pixelate`: box (area) downscaling to 0.6, 0.5, 0.4, 0.3, 0.25 of the side, then
      nearest-neighbour upscaling: 28 pixels become blocks of 16, 14, 11, 8, 7.
    - `jpeg_compression`: a JPEG round trip (`tf.io.encode_jpeg`, `tf.io.decode_jpeg`)
      at quality 25, 18, 15, 10, 7.

    Deterministic for a given `seed`; the noises and the fog draw from it (the same
    draws at every severity, so a higher severity corrupts the same pixels more), the
    other corruptions ignore it.

    Args:
        images: uint8 array `(n, height, width)` or `(n, height, width, channels)` with
            1 or 3 channels.
        corruption: str, one of `keras_transfer.data.CORRUPTIONS`.
        severity: int, 1 (mild) to 5 (strong).
        seed: int, seed of the random corruptions.

    Returns:
        uint8 array of the shape of `images`.

    Example:

    >>> import numpy as np, keras_transfer
    >>> items = np.zeros((2, 28, 28), "uint8"); items[:, 8:20, 8:20] = 200
    >>> blurred = keras_transfer.data.corrupt(items, "gaussian_blur", 3)
    >>> blurred.shape, blurred.dtype
    ((2, 28, 28), dtype('uint8'))
    >>> noisy = keras_transfer.data.corrupt(items, "shot_noise", 5, seed=1)
    >>> bool(np.array_equal(noisy, keras_transfer.data.corrupt(items, "shot_noise", 5, seed=1)))
    True
    >>> keras_transfer.data.corrupt(items, "gausian_blur", 3)
    Traceback (most recent call last):
    ...
    ValueError: Invalid value received for argument `corruption`. ... Did you mean 'gaussian_blur', ...?

    Reference:
        Hendrycks and Dietterich, "Benchmarking Neural Network Robustness to Common
        Corruptions and Perturbations", ICLR 2019 (ImageNet-C, CIFAR-10-C).
    """
    images = _check_images(images)
    corruption, severity = _check_corruption(corruption, severity)
    seed = _checks.check_int("seed", seed, minimum=0)
    params = _SEVERITIES[corruption][severity - 1]
    x = images if images.ndim == 4 else images[..., None]
    if corruption == "jpeg_compression":
        out = _jpeg_compression(np.ascontiguousarray(x), params)
    else:
        rng = np.random.default_rng(seed)
        corrupted = _CORRUPT[corruption](x.astype("float32") / 255.0, params, rng)
        out = np.clip(np.round(corrupted * 255.0), 0, 255).astype("uint8")
    return out.reshape(images.shape)
