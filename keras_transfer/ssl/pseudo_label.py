"""`PseudoLabel`: the model's own confident predictions as hard labels (Lee, 2013)."""

from keras import ops

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.ssl import _losses
from keras_transfer.ssl import _state
from keras_transfer.ssl.learner import SemiSupervisedLearner


@keras_transfer_export("keras_transfer.ssl.PseudoLabel")
class PseudoLabel(SemiSupervisedLearner):
    """Pseudo-labelling: train on the model's own confident predictions.

    For every unlabelled image, the class the model predicts on its weak
    view (the image itself with `weak_augmentation=None`) becomes a hard
    pseudo-label when its probability reaches `threshold`, and the same
    prediction is trained towards it with cross-entropy. The weight of that
    loss ramps up: 0 for `warmup_steps` steps, then linearly to
    `unlabeled_weight` over `rampup_steps` steps, so that early, mostly wrong
    pseudo-labels do not drown the labelled signal. One view, one forward
    pass: the cheapest learner of the family, and the usual baseline.

    Inputs, P-SSL, `predict` and the logs are as for
    `keras_transfer.ssl.FixMatch`; the logs hold `unlabeled_loss`,
    `mask_rate` and `unlabeled_weight` (the ramped weight).

    Args:
        model: Keras classifier (probabilities or logits). Trained in place.
        pseudo_generator: a `PseudoSSLGenerator` (or any Keras layer mapping
            target images to unlabelled images), or `None`. Defaults to `None`.
        weak_augmentation: `"auto"` (`WeakAugment`), `None` or a Keras layer.
        threshold: float in [0, 1], confidence needed for a pseudo-label.
            Defaults to `0.95`.
        warmup_steps: int >= 0, steps with no unlabelled loss. Defaults to `0`.
        rampup_steps: int >= 0, steps of the linear ramp after the warm-up.
            Defaults to `1000`.
        unlabeled_ratio: int >= 1, pseudo samples per labelled image (P-SSL).
            Defaults to `7`.
        unlabeled_weight: float >= 0, final weight of the unlabelled loss.
            Defaults to `1.0`.
        from_logits: `None` reads it from `model`; or a bool.
        value_range: `(low, high)` of the images. Defaults to `(0, 255)`.
        seed: int or `None`, seed of the default augmentation.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> classifier = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Rescaling(1 / 255),
    ...     keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")])
    >>> learner = keras_transfer.ssl.PseudoLabel(classifier, threshold=0.5, rampup_steps=4, seed=0)
    >>> learner.compile(optimizer="adam", metrics=["accuracy"])
    >>> rng = np.random.default_rng(0)
    >>> x_l = rng.uniform(0, 255, (8, 8, 8, 1)).astype("float32")
    >>> x_u = rng.uniform(0, 255, (8, 8, 8, 1)).astype("float32")
    >>> history = learner.fit((x_l, x_u), np.arange(8) % 2, batch_size=4, epochs=1, verbose=0)
    >>> sorted(history.history)
    ['accuracy', 'loss', 'mask_rate', 'unlabeled_loss', 'unlabeled_weight']
    >>> history.history["unlabeled_weight"]  # steps 0 and 1 of the 4-step ramp
    [0.125]

    Reference:
        Lee, "Pseudo-Label: The Simple and Efficient Semi-Supervised Learning
        Method for Deep Neural Networks", ICML 2013 Workshop on Challenges in
        Representation Learning.
    """

    _views = ("weak",)
    _extra_metrics = ("unlabeled_loss", "mask_rate", "unlabeled_weight")

    def __init__(
        self,
        model,
        *,
        pseudo_generator=None,
        weak_augmentation="auto",
        threshold=0.95,
        warmup_steps=0,
        rampup_steps=1000,
        unlabeled_ratio=7,
        unlabeled_weight=1.0,
        from_logits=None,
        value_range=(0, 255),
        seed=None,
        **kwargs,
    ):
        threshold = _checks.check_float("threshold", threshold, minimum=0.0, maximum=1.0)
        warmup_steps = _checks.check_int("warmup_steps", warmup_steps, minimum=0)
        rampup_steps = _checks.check_int("rampup_steps", rampup_steps, minimum=0)
        super().__init__(
            model, pseudo_generator=pseudo_generator, weak_augmentation=weak_augmentation,
            unlabeled_ratio=unlabeled_ratio, unlabeled_weight=unlabeled_weight, from_logits=from_logits,
            value_range=value_range, seed=seed, **kwargs,
        )
        self.threshold = threshold
        self.warmup_steps = warmup_steps
        self.rampup_steps = rampup_steps

    def unlabeled_loss(self, outputs, images):
        """Cross-entropy of each prediction to its own confident argmax."""
        (weak,) = outputs
        confidence, labels = _losses.pseudo_labels(weak, self._loss_from_logits)
        mask = ops.cast(confidence >= self.threshold, "float32")
        loss = _losses.masked_cross_entropy(weak, labels, mask, self._loss_from_logits)
        return loss, {"mask_rate": ops.mean(mask)}

    def _weight_schedule(self):
        return _state.linear_rampup(self._step_number(), self.warmup_steps, self.rampup_steps)

    def _method_config(self):
        return {"threshold": self.threshold, "warmup_steps": self.warmup_steps, "rampup_steps": self.rampup_steps}
