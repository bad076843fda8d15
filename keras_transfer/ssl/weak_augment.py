"""`WeakAugment`: FixMatch's weak view (flip and shift), compilable with XLA."""

from keras import ops

from keras_transfer.api_export import keras_transfer_export
from keras_transfer.ssl import _image_ops
from keras_transfer.ssl._augment import AugmentBase


@keras_transfer_export("keras_transfer.layers.WeakAugment")
class WeakAugment(AugmentBase):
    """Random horizontal flip and integer shift, written in `keras.ops`.

    The weak augmentation of FixMatch. Unlike `keras.layers.RandomTranslation`
    it compiles with XLA on CPU (one gather-based warp per image), so it can
    run inside a `jit_compile=True` train step, which P-SSL needs because its
    unlabelled images are generated inside the step. Identity unless called
    with `training=True`. Randomness comes from a saved seed state; each
    replica draws its own.

    Args:
        flip: random horizontal flips (probability 0.5). Defaults to `True`.
        translate: float in [0, 0.5], largest shift as a fraction of the
            height/width; shifts are whole pixels. Defaults to `0.125`.
        fill_mode: `"reflect"`, `"nearest"` or `"constant"` (zero after
            scaling, i.e. `value_range[0]`). Defaults to `"reflect"`.
        value_range: `(low, high)` of the images. Defaults to `(0, 255)`.
        seed: int or `None`.

    Call arguments:
        inputs: images `(batch, height, width, channels)`.
        training: augment only when `True`.

    Example:

    >>> import numpy as np, keras_transfer
    >>> layer = keras_transfer.layers.WeakAugment(translate=0.0, seed=0)
    >>> x = np.arange(2 * 3 * 3).reshape(2, 3, 3, 1).astype("float32")
    >>> y = np.asarray(layer(x, training=True))
    >>> all(np.array_equal(y[i], x[i]) or np.array_equal(y[i], x[i, :, ::-1]) for i in range(2))
    True

    Reference:
        Sohn et al., "FixMatch: Simplifying Semi-Supervised Learning with
        Consistency and Confidence", NeurIPS 2020.
    """

    def call(self, inputs, training=False):
        if not training:
            return inputs
        self._check_images(inputs)
        batch, height, width = ops.shape(inputs)[0], inputs.shape[1], inputs.shape[2]
        matrices = self._weak_matrices(batch, height, width)
        return self._from_unit(_image_ops.warp(self._to_unit(inputs), matrices, self.fill_mode))
