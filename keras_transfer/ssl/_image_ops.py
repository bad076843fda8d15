"""Image augmentations written in `keras.ops`, so XLA compiles them on CPU too.

Keras's `RandomTranslation`/`RandomRotation` go through TensorFlow's
`ImageProjectiveTransformV3`, which has no XLA kernel on CPU; a P-SSL step
generates its unlabelled images inside the compiled step, so their
augmentation must be compilable. Here every geometric transform is one affine
warp per image, sampled bilinearly with `take_along_axis` (a gather), and
every photometric transform is elementwise arithmetic. Images are float32
`(batch, height, width, channels)` with values in [0, 1]; matrices are
`(batch, 3, 3)` homogeneous maps from *output* pixel coordinates `(x, y)` to
the input coordinates they read.
"""

import math

from keras import ops

FILL_MODES = ("constant", "nearest", "reflect")


def identity_matrices(batch):
    eye = ops.eye(3, dtype="float32")
    return ops.broadcast_to(eye[None], (batch, 3, 3))


def _matrices(a, b, c, d, e, f):
    """Stacks per-image entries into `[[a, b, c], [d, e, f], [0, 0, 1]]`."""
    zeros, ones = ops.zeros_like(a), ops.ones_like(a)
    rows = [ops.stack([a, b, c], axis=-1), ops.stack([d, e, f], axis=-1), ops.stack([zeros, zeros, ones], axis=-1)]
    return ops.stack(rows, axis=1)


def about_center(matrices, height, width):
    """Conjugates linear maps so they act about the image centre."""
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    to_center = ops.convert_to_tensor([[1.0, 0.0, -cx], [0.0, 1.0, -cy], [0.0, 0.0, 1.0]], "float32")
    back = ops.convert_to_tensor([[1.0, 0.0, cx], [0.0, 1.0, cy], [0.0, 0.0, 1.0]], "float32")
    return ops.matmul(ops.matmul(back[None], matrices), to_center[None])


def flip_matrices(flip, height, width):
    """Horizontal flips where `flip` (batch,) is 1, identity where 0."""
    sx = 1.0 - 2.0 * flip
    zeros = ops.zeros_like(flip)
    return about_center(_matrices(sx, zeros, zeros, zeros, 1.0 + zeros, zeros), height, width)


def translation_matrices(tx, ty):
    """Output pixel `(x, y)` reads input pixel `(x - tx, y - ty)`."""
    zeros, ones = ops.zeros_like(tx), ops.ones_like(tx)
    return _matrices(ones, zeros, -tx, zeros, ones, -ty)


def rotation_matrices(angle, height, width):
    cos, sin = ops.cos(angle), ops.sin(angle)
    zeros = ops.zeros_like(angle)
    return about_center(_matrices(cos, -sin, zeros, sin, cos, zeros), height, width)


def shear_matrices(shear_x, shear_y, height, width):
    zeros, ones = ops.zeros_like(shear_x), ops.ones_like(shear_x)
    return about_center(_matrices(ones, shear_x, zeros, shear_y, ones, zeros), height, width)


def _reflect(coordinate, size):
    period = 2.0 * (size - 1)
    if size == 1:
        return ops.zeros_like(coordinate)
    coordinate = ops.abs(coordinate)
    coordinate = coordinate - period * ops.floor(coordinate / period)
    return (size - 1) - ops.abs((size - 1) - coordinate)


def warp(images, matrices, fill_mode="reflect", fill_value=0.0):
    """Bilinear affine warp of every image by its own matrix (output -> input)."""
    batch = ops.shape(images)[0]
    height, width, channels = images.shape[1], images.shape[2], images.shape[3]
    ys, xs = ops.meshgrid(ops.arange(height, dtype="float32"), ops.arange(width, dtype="float32"), indexing="ij")
    grid = ops.stack([ops.reshape(xs, (-1,)), ops.reshape(ys, (-1,)), ops.ones((height * width,), "float32")])
    source = ops.matmul(matrices[:, :2, :], grid[None])  # (batch, 2, hw)
    sx, sy = source[:, 0, :], source[:, 1, :]
    if fill_mode == "reflect":
        sx, sy = _reflect(sx, width), _reflect(sy, height)
    elif fill_mode == "nearest":
        sx, sy = ops.clip(sx, 0.0, width - 1.0), ops.clip(sy, 0.0, height - 1.0)
    x0, y0 = ops.floor(sx), ops.floor(sy)
    wx, wy = sx - x0, sy - y0
    flat = ops.reshape(images, (batch, height * width, channels))
    output = 0.0
    for dy, dx, weight in ((0, 0, (1 - wx) * (1 - wy)), (0, 1, wx * (1 - wy)), (1, 0, (1 - wx) * wy), (1, 1, wx * wy)):
        xi, yi = x0 + dx, y0 + dy
        inside = (xi >= 0) & (xi <= width - 1) & (yi >= 0) & (yi <= height - 1)
        index = ops.cast(ops.clip(yi, 0, height - 1) * width + ops.clip(xi, 0, width - 1), "int32")
        index = ops.repeat(index[..., None], channels, axis=-1)
        values = ops.take_along_axis(flat, index, axis=1)
        values = ops.where(inside[..., None], values, fill_value)
        output = output + values * weight[..., None]
    return ops.reshape(output, (batch, height, width, channels))


def _per_image(x):
    return x[:, None, None, None]


def blend(images, other, factor):
    """`other + factor * (images - other)`, clipped to [0, 1] (PIL's ImageEnhance)."""
    return ops.clip(other + _per_image(factor) * (images - other), 0.0, 1.0)


def grayscale(images):
    if images.shape[-1] == 3:
        weights = ops.convert_to_tensor([0.299, 0.587, 0.114], "float32")
        return ops.sum(images * weights, axis=-1, keepdims=True)
    return ops.mean(images, axis=-1, keepdims=True)


def brightness(images, factor):
    return blend(images, ops.zeros_like(images), factor)


def contrast(images, factor):
    mean = ops.mean(grayscale(images), axis=(1, 2, 3), keepdims=True)
    return blend(images, ops.broadcast_to(mean, ops.shape(images)), factor)


def color(images, factor):
    return blend(images, ops.broadcast_to(grayscale(images), ops.shape(images)), factor)


def sharpness(images, factor):
    channels = images.shape[-1]
    kernel = ops.convert_to_tensor([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]], "float32") / 13.0
    kernel = ops.tile(kernel[:, :, None, None], (1, 1, channels, 1))
    smooth = ops.depthwise_conv(images, kernel, strides=1, padding="same")
    return blend(images, smooth, factor)


def autocontrast(images):
    low = ops.min(images, axis=(1, 2), keepdims=True)
    high = ops.max(images, axis=(1, 2), keepdims=True)
    span = high - low
    return ops.where(span > 1e-3, (images - low) / ops.maximum(span, 1e-3), images)


def posterize(images, bits):
    levels = _per_image(ops.power(2.0, bits))
    return ops.floor(images * (levels - 1e-3)) / ops.maximum(levels - 1.0, 1.0)


def solarize(images, threshold):
    return ops.where(images >= _per_image(threshold), 1.0 - images, images)


def cutout(images, size, center_x, center_y, fill_value):
    """Fills a square of side `size` pixels centred at `(center_x, center_y)` per image."""
    height, width = images.shape[1], images.shape[2]
    ys = ops.arange(height, dtype="float32")[None, :, None]
    xs = ops.arange(width, dtype="float32")[None, None, :]
    half = size[:, None, None] / 2.0
    inside = (ops.abs(ys - center_y[:, None, None]) < half) & (ops.abs(xs - center_x[:, None, None]) < half)
    return ops.where(inside[..., None], fill_value, images)


def degrees(value):
    return value * math.pi / 180.0
