"""`UDA`: soft consistency between a sharpened weak view and a strong view (Xie et al., 2020)."""

from keras import ops

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.models import _outputs
from keras_transfer.ssl.learner import SemiSupervisedLearner


@keras_transfer_export("keras_transfer.ssl.UDA")
class UDA(SemiSupervisedLearner):
    """Unsupervised Data Augmentation: soft targets from a weak view for a strong view.

    For every unlabelled image, the prediction on the weak view is
    sharpened, `softmax(log p / temperature)`, and used (without gradient)
    as a soft target: the unlabelled loss is the KL divergence from it to
    the prediction on the strong view, averaged over the batch, counting
    only the images whose (unsharpened) weak-view confidence reaches
    `threshold` (confidence masking; `0` keeps every image). Unlike FixMatch
    the target keeps the whole class distribution, so less confident
    classes still teach something.

    Inputs, P-SSL, `predict` and the logs are as for
    `keras_transfer.ssl.FixMatch` (`unlabeled_loss`, `mask_rate`).

    Args:
        model: Keras classifier (probabilities or logits). Trained in place.
        pseudo_generator: a `PseudoSSLGenerator` (or any Keras layer mapping
            target images to unlabelled images), or `None`. Defaults to `None`.
        weak_augmentation: `"auto"` (`WeakAugment`), `None` (the original
            image, as in the paper) or a Keras layer.
        strong_augmentation: `"auto"` (`StrongAugment`), `None` or a layer.
        threshold: float in [0, 1], confidence masking. Defaults to `0.8`.
        temperature: float > 0, sharpening of the targets (below 1
            sharpens). Defaults to `0.4`.
        unlabeled_ratio: int >= 1, pseudo samples per labelled image (P-SSL).
            Defaults to `7`.
        unlabeled_weight: float >= 0, weight of the consistency loss.
            Defaults to `1.0`.
        from_logits: `None` reads it from `model`; or a bool.
        value_range: `(low, high)` of the images. Defaults to `(0, 255)`.
        seed: int or `None`, seed of the default augmentations.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> classifier = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Rescaling(1 / 255),
    ...     keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")])
    >>> learner = keras_transfer.ssl.UDA(classifier, threshold=0.0, temperature=0.4, seed=0)
    >>> learner.compile(optimizer="adam", metrics=["accuracy"])
    >>> rng = np.random.default_rng(0)
    >>> x_l = rng.uniform(0, 255, (8, 8, 8, 1)).astype("float32")
    >>> x_u = rng.uniform(0, 255, (8, 8, 8, 1)).astype("float32")
    >>> history = learner.fit((x_l, x_u), np.arange(8) % 2, batch_size=4, epochs=1, verbose=0)
    >>> sorted(history.history)
    ['accuracy', 'loss', 'mask_rate', 'unlabeled_loss']
    >>> history.history["mask_rate"]
    [1.0]

    Reference:
        Xie, Dai, Hovy, Luong and Le, "Unsupervised Data Augmentation for
        Consistency Training", NeurIPS 2020.
    """

    _views = ("weak", "strong")
    _extra_metrics = ("unlabeled_loss", "mask_rate")

    def __init__(
        self,
        model,
        *,
        pseudo_generator=None,
        weak_augmentation="auto",
        strong_augmentation="auto",
        threshold=0.8,
        temperature=0.4,
        unlabeled_ratio=7,
        unlabeled_weight=1.0,
        from_logits=None,
        value_range=(0, 255),
        seed=None,
        **kwargs,
    ):
        threshold = _checks.check_float("threshold", threshold, minimum=0.0, maximum=1.0)
        temperature = _checks.check_float("temperature", temperature, minimum=0.0, exclusive_minimum=True)
        super().__init__(
            model, pseudo_generator=pseudo_generator, weak_augmentation=weak_augmentation,
            strong_augmentation=strong_augmentation, unlabeled_ratio=unlabeled_ratio,
            unlabeled_weight=unlabeled_weight, from_logits=from_logits, value_range=value_range, seed=seed, **kwargs,
        )
        self.threshold = threshold
        self.temperature = temperature

    def unlabeled_loss(self, outputs, images):
        """KL(sharpened weak-view prediction || strong-view prediction), confidence-masked."""
        weak, strong = outputs
        log_weak = ops.stop_gradient(_outputs.log_probabilities(weak, self._loss_from_logits))
        log_target = ops.log_softmax(log_weak / self.temperature, axis=-1)
        log_strong = _outputs.log_probabilities(strong, self._loss_from_logits)
        divergence = ops.sum(ops.exp(log_target) * (log_target - log_strong), axis=-1)
        mask = ops.cast(ops.max(ops.exp(log_weak), axis=-1) >= self.threshold, "float32")
        return ops.mean(divergence * mask), {"mask_rate": ops.mean(mask)}

    def _method_config(self):
        return {"threshold": self.threshold, "temperature": self.temperature}
