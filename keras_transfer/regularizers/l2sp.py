"""`L2SP`: a weight regulariser pulling a variable toward a starting point."""

import keras
import numpy as np

# Keras saves the state of every `KerasSaveable` it reaches from a model;
# the class is not exported publicly (checked with Keras 3.10-3.15).
from keras.src.saving.keras_saveable import KerasSaveable

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export


def _rebuild(config, anchor):
    regularizer = L2SP.from_config(config)
    if anchor is not None:
        regularizer.set_anchor(anchor)
    return regularizer


@keras_transfer_export("keras_transfer.regularizers.L2SP")
class L2SP(keras.regularizers.Regularizer, KerasSaveable):
    """L2 penalty toward a starting point: `alpha / 2 * ||w - w0||^2`.

    The "starting point" regulariser of L2-SP: fine-tuned weights `w` are
    pulled toward their pretrained values `w0` (the *anchor*) instead of
    toward zero. Without an anchor it is the usual L2 penalty (with the
    paper's factor 1/2), which L2-SP applies to the new head (its `beta`).

    The anchor is a non-trainable float32 variable owned by the regulariser,
    not by the layer, so it adds nothing to `model.weights`. It is saved
    with the model whenever Keras reaches the regulariser while saving: as
    a layer argument (`Dense(..., kernel_regularizer=L2SP(...))`) in a
    functional or Sequential model, or through a
    `keras_transfer.models.L2SPModel`. To regularise a whole pretrained
    model, use `keras_transfer.regularizers.apply_l2sp`.

    Args:
        alpha: strength (>= 0). The penalty is `alpha / 2 * sum((w - w0)**2)`
            (Keras's `L2(l2)` is `l2 * sum(w**2)`, without the 1/2).
            Defaults to `0.01`.
        anchor: the starting point `w0` (an array or variable of the
            weight's shape), copied. `None`: penalise toward zero.
        anchored: whether an anchor is expected. Defaults to
            `anchor is not None`; the saved config records it, so a
            regulariser revived without its anchor value refuses to run
            instead of silently pulling toward zero. Set by `get_config`.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> pretrained = np.ones((2, 1), "float32")
    >>> regularizer = keras_transfer.regularizers.L2SP(0.5, anchor=pretrained)
    >>> float(regularizer(np.array([[3.0], [1.0]], "float32")))
    1.0
    >>> layer = keras.layers.Dense(1, kernel_regularizer=regularizer)
    >>> _ = layer.build((None, 2))
    >>> _ = layer.kernel.assign(pretrained)
    >>> float(sum(layer.losses))
    0.0

    Reference:
        Li, Grandvalet & Davoine, Explicit Inductive Bias for Transfer
        Learning with Convolutional Networks (ICML 2018).
    """

    def __init__(self, alpha=0.01, anchor=None, anchored=None):
        self.alpha = _checks.check_float("alpha", alpha, minimum=0.0)
        if anchored is not None and not isinstance(anchored, bool):
            raise _checks.invalid("anchored", "a bool or None", anchored, error=TypeError)
        self.anchored = anchor is not None if anchored is None else anchored
        self.anchor = None
        if anchor is not None:
            self.set_anchor(anchor)

    def set_anchor(self, value):
        """Sets the starting point `w0` (copied into a float32 variable)."""
        try:
            array = np.asarray(keras.ops.convert_to_numpy(value), dtype="float32")
        except (TypeError, ValueError):
            raise _checks.invalid("anchor", "an array of numbers", value, error=TypeError) from None
        if self.anchor is None:
            self.anchor = keras.Variable(array, trainable=False, dtype="float32", name="l2sp_anchor")
        else:
            if tuple(self.anchor.shape) != array.shape:
                raise _checks.invalid("anchor", f"an array of shape {tuple(self.anchor.shape)}", f"array of shape {array.shape}")
            self.anchor.assign(array)
        self.anchored = True

    def await_anchor(self):
        """Drops the anchor value: one must be loaded (or `set_anchor`) before the penalty runs."""
        self.anchor = None
        self.anchored = True

    def __call__(self, x):
        x = keras.ops.cast(x, "float32")
        if self.anchored:
            if self.anchor is None:
                raise ValueError(
                    "This L2SP regulariser expects an anchor (the pretrained values) but none was set or "
                    "loaded: the weights were loaded from a file without it. Call `set_anchor(values)`."
                )
            x = x - self.anchor
        return 0.5 * self.alpha * keras.ops.sum(keras.ops.square(x))

    def get_config(self):
        return {"alpha": self.alpha, "anchored": self.anchored}

    # === Saving the anchor (Keras reaches this object while saving a model) ===

    def _obj_type(self):
        # Keras's saver walks the attributes of saveable objects with the
        # skip-list of a known type; ours has no saveable children.
        return "Loss"

    def save_own_variables(self, store):
        if self.anchor is not None:
            store["anchor"] = self.anchor.numpy()

    def load_own_variables(self, store):
        if "anchor" in store:
            self.set_anchor(store["anchor"])

    def __reduce__(self):
        # KerasSaveable pickles whole models; a regulariser pickles as its
        # config and anchor.
        anchor = None if self.anchor is None else self.anchor.numpy()
        return (_rebuild, (self.get_config(), anchor))

    def __repr__(self):
        anchor = "none" if not self.anchored else ("set" if self.anchor is not None else "missing")
        return f"<L2SP alpha={self.alpha} anchor={anchor}>"
