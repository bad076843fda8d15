"""`FlexMatch`: FixMatch with class-wise thresholds from each class's learning status (Zhang et al., 2021)."""

from keras import ops

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.ssl import _losses
from keras_transfer.ssl import _state
from keras_transfer.ssl.learner import SemiSupervisedLearner

MAPPINGS = ("convex", "linear")


@keras_transfer_export("keras_transfer.ssl.FlexMatch")
class FlexMatch(SemiSupervisedLearner):
    """FlexMatch: FixMatch whose confidence threshold adapts to each class.

    The learning status `sigma(c)` of class `c` is the share of unlabelled
    images predicted as `c` with a confidence of at least `threshold` on
    their weak view. The paper counts it over the whole unlabelled set (the
    last confident prediction of every image); here it is estimated from
    the batches, without image indices, as an exponential moving average
    (`status_momentum`) of each batch's share, kept in the non-trainable
    variable `class_status` (updated inside the compiled step, the same on
    every replica, saved with the model). The normalised status is
    `beta(c) = sigma(c) / max(max_c sigma, 1 - sum_c sigma)` with the
    warm-up (the share of images not yet used counts as a class, so
    thresholds stay low while most images are unused), or
    `sigma(c) / max_c sigma` without it. The threshold of class `c` is
    `threshold * M(beta(c))`, `M(x) = x / (2 - x)` (`"convex"`) or `x`
    (`"linear"`): a class the model has not learnt yet gets a low
    threshold, hence more pseudo-labels. The rest is FixMatch:
    cross-entropy of the strong view to the weak view's pseudo-label when
    its confidence reaches its class threshold.

    `class_thresholds()` gives the current thresholds. Inputs, P-SSL,
    `predict` and the logs are as for `keras_transfer.ssl.FixMatch`
    (`unlabeled_loss`, `mask_rate`).

    Args:
        model: Keras classifier (probabilities or logits). Trained in place.
        pseudo_generator: a `PseudoSSLGenerator` (or any Keras layer mapping
            target images to unlabelled images), or `None`. Defaults to `None`.
        weak_augmentation: `"auto"` (`WeakAugment`), `None` or a Keras layer.
        strong_augmentation: `"auto"` (`StrongAugment`), `None` or a layer.
        threshold: float in [0, 1], the highest threshold (a learnt class's),
            also the confidence that counts in the learning status.
            Defaults to `0.95`.
        mapping: `"convex"` or `"linear"`, the mapping `M`. Defaults to
            `"convex"`.
        warmup: bool, threshold warm-up. Defaults to `True`.
        status_momentum: float in [0, 1), momentum of the learning-status
            average (about `1 - batch / unlabelled images` follows one pass
            over the data). Defaults to `0.99`.
        unlabeled_ratio: int >= 1, pseudo samples per labelled image (P-SSL).
            Defaults to `7`.
        unlabeled_weight: float >= 0, weight of the unlabelled loss.
            Defaults to `1.0`.
        from_logits: `None` reads it from `model`; or a bool.
        value_range: `(low, high)` of the images. Defaults to `(0, 255)`.
        seed: int or `None`, seed of the default augmentations.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> classifier = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Rescaling(1 / 255),
    ...     keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")])
    >>> learner = keras_transfer.ssl.FlexMatch(classifier, threshold=0.5, status_momentum=0.9, seed=0)
    >>> learner.compile(optimizer="adam", metrics=["accuracy"])
    >>> [float(t) for t in learner.class_thresholds()]  # nothing learnt yet
    [0.0, 0.0]
    >>> rng = np.random.default_rng(0)
    >>> x_l = rng.uniform(0, 255, (8, 8, 8, 1)).astype("float32")
    >>> x_u = rng.uniform(0, 255, (8, 8, 8, 1)).astype("float32")
    >>> history = learner.fit((x_l, x_u), np.arange(8) % 2, batch_size=4, epochs=1, verbose=0)
    >>> sorted(history.history)
    ['accuracy', 'loss', 'mask_rate', 'unlabeled_loss']
    >>> bool(np.asarray(learner.class_status).sum() > 0)
    True

    Reference:
        Zhang, Wang, Hou, Wu, Wang, Okumura and Shinozaki, "FlexMatch:
        Boosting Semi-Supervised Learning with Curriculum Pseudo Labeling",
        NeurIPS 2021.
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
        threshold=0.95,
        mapping="convex",
        warmup=True,
        status_momentum=0.99,
        unlabeled_ratio=7,
        unlabeled_weight=1.0,
        from_logits=None,
        value_range=(0, 255),
        seed=None,
        **kwargs,
    ):
        threshold = _checks.check_float("threshold", threshold, minimum=0.0, maximum=1.0)
        mapping = _checks.check_choice("mapping", mapping, MAPPINGS)
        if not isinstance(warmup, bool):
            raise _checks.invalid("warmup", "a bool", warmup, error=TypeError)
        status_momentum = _checks.check_float("status_momentum", status_momentum, minimum=0.0)
        if status_momentum >= 1.0:
            raise _checks.invalid("status_momentum", "a number in [0, 1)", status_momentum,
                                  hint="1 would never update the learning status.")
        super().__init__(
            model, pseudo_generator=pseudo_generator, weak_augmentation=weak_augmentation,
            strong_augmentation=strong_augmentation, unlabeled_ratio=unlabeled_ratio,
            unlabeled_weight=unlabeled_weight, from_logits=from_logits, value_range=value_range, seed=seed, **kwargs,
        )
        self.threshold = threshold
        self.mapping = mapping
        self.warmup = warmup
        self.status_momentum = status_momentum
        self.class_status = self.add_weight(
            name="class_status", shape=(self.num_classes,), initializer="zeros", trainable=False,
        )

    def class_thresholds(self):
        """The confidence threshold of each class now, a `(num_classes,)` tensor."""
        status = ops.convert_to_tensor(self.class_status)
        peak = ops.max(status)
        denominator = ops.maximum(peak, 1.0 - ops.sum(status)) if self.warmup else peak
        normalised = status / ops.maximum(denominator, 1e-12)
        mapped = normalised / (2.0 - normalised) if self.mapping == "convex" else normalised
        return self.threshold * mapped

    def unlabeled_loss(self, outputs, images):
        """FixMatch's loss with the threshold of each pseudo-label's class."""
        weak, strong = outputs
        confidence, labels = _losses.pseudo_labels(weak, self._loss_from_logits)
        mask = ops.cast(confidence >= ops.take(self.class_thresholds(), labels), "float32")
        loss = _losses.masked_cross_entropy(strong, labels, mask, self._loss_from_logits)
        return loss, {"mask_rate": ops.mean(mask)}

    def _after_update(self, outputs, images):
        # The learning status moves after the mask used the previous one.
        confidence, labels = _losses.pseudo_labels(outputs[0], self._loss_from_logits)
        confident = ops.cast(confidence >= self.threshold, "float32")
        counts = ops.sum(ops.one_hot(labels, self.num_classes) * confident[:, None], axis=0)
        counts, total = _state.global_sum([counts, ops.cast(ops.shape(labels)[0], "float32")])
        status = self.status_momentum * ops.convert_to_tensor(self.class_status)
        _state.assign([self.class_status], [status + (1.0 - self.status_momentum) * counts / total])

    def _method_config(self):
        return {
            "threshold": self.threshold, "mapping": self.mapping, "warmup": self.warmup,
            "status_momentum": self.status_momentum,
        }

