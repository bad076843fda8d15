"""`FixMatch`: semi-supervised learning as a model you `compile` and `fit`."""

from keras import ops

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.ssl import _losses
from keras_transfer.ssl.learner import SemiSupervisedLearner
from keras_transfer.ssl.learner import split_inputs  # noqa: F401  (its v0.1 home)


@keras_transfer_export("keras_transfer.ssl.FixMatch")
class FixMatch(SemiSupervisedLearner):
    """FixMatch semi-supervised learning around any classifier, trained with `fit`.

    Each train step takes a batch of labelled images and a batch of
    unlabelled ones. The labelled images (weak view) get the compiled loss.
    For every unlabelled image, the prediction on a weak view gives a
    pseudo-label when its confidence reaches `threshold`; the prediction on
    a strong view is trained towards it with cross-entropy, weighted by
    `unlabeled_weight`. All views go through `model` in one forward pass.

    Where the unlabelled images come from:

    - real data: `fit(x=(x_labeled, x_unlabeled), y=y_labeled)` batches of a
      `tf.data` pipeline, e.g. `keras_transfer.ssl.ssl_dataset(...)` (a
      dict `{"labeled": ..., "unlabeled": ...}` works too);
    - pseudo semi-supervised learning (P-SSL): pass
      `pseudo_generator=keras_transfer.layers.PseudoSSLGenerator(...)`; the
      unlabelled images are then generated in the step from target images:
      from the unlabelled part of the batch if there is one, else from the
      labelled batch, each image repeated `unlabeled_ratio` times (different
      noise). So `fit(x_labeled, y_labeled)` is all P-SSL needs.

    Augmentations run inside the compiled step. The defaults
    (`keras_transfer.layers.WeakAugment`, `StrongAugment`) are written in
    `keras.ops` and compile with XLA on CPU; Keras's `RandomTranslation`,
    `RandomRotation` and `RandAugment` do not (no XLA kernel on CPU for
    their image transform), so with those pass `jit_compile=False`, or
    augment real data in the `tf.data` pipeline and pass `None` here.

    `compile(metrics=...)` metrics are computed on the labelled batch; the
    logs also hold `unlabeled_loss` and `mask_rate` (the fraction of
    unlabelled images above the threshold). `sample_weight` weights the
    labelled loss. `predict`, `evaluate` and `validation_data` take plain
    images and run `model`; after training, `model` is the trained classifier.

    Args:
        model: Keras classifier (softmax probabilities, or logits: read from
            its last layer, see `from_logits`). Trained in place.
        pseudo_generator: a `PseudoSSLGenerator` (or any Keras layer mapping
            a batch of target images to a batch of unlabelled images), or
            `None` for real unlabelled data. Defaults to `None`.
        weak_augmentation: `"auto"` (`WeakAugment`), `None` or a Keras layer
            called with `training=True`.
        strong_augmentation: `"auto"` (`StrongAugment`), `None` or a layer.
        threshold: float in [0, 1], confidence needed for a pseudo-label.
            Defaults to `0.95`.
        unlabeled_ratio: int >= 1, pseudo samples per labelled image when
            they are generated from the labelled batch. Defaults to `7`.
        unlabeled_weight: float >= 0, weight of the unlabelled loss.
            Defaults to `1.0`.
        from_logits: `None` reads it from `model`'s last layer (or one probe
            call); a bool is checked against the model when it can be read.
        value_range: `(low, high)` of the images, for the default
            augmentations. Defaults to `(0, 255)`.
        seed: int or `None`, seed of the default augmentations.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> classifier = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Rescaling(1 / 255),
    ...     keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")])
    >>> fixmatch = keras_transfer.ssl.FixMatch(classifier, threshold=0.5, seed=0)
    >>> fixmatch.compile(optimizer="adam", metrics=["accuracy"])
    >>> rng = np.random.default_rng(0)
    >>> x_l = rng.uniform(0, 255, (8, 8, 8, 1)).astype("float32")
    >>> x_u = rng.uniform(0, 255, (8, 8, 8, 1)).astype("float32")
    >>> history = fixmatch.fit((x_l, x_u), np.arange(8) % 2, batch_size=4, epochs=1, verbose=0)
    >>> sorted(history.history)
    ['accuracy', 'loss', 'mask_rate', 'unlabeled_loss']
    >>> fixmatch.predict(x_l, verbose=0).shape
    (8, 2)

    Reference:
        Sohn et al., "FixMatch: Simplifying Semi-Supervised Learning with
        Consistency and Confidence", NeurIPS 2020. Yamaguchi et al.,
        "Transfer Learning with Pre-trained Conditional Generative Models",
        Machine Learning 2025 (arXiv:2204.12833), for P-SSL.
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
        unlabeled_ratio=7,
        unlabeled_weight=1.0,
        from_logits=None,
        value_range=(0, 255),
        seed=None,
        **kwargs,
    ):
        threshold = _checks.check_float("threshold", threshold, minimum=0.0, maximum=1.0)
        super().__init__(
            model, pseudo_generator=pseudo_generator, weak_augmentation=weak_augmentation,
            strong_augmentation=strong_augmentation, unlabeled_ratio=unlabeled_ratio,
            unlabeled_weight=unlabeled_weight, from_logits=from_logits, value_range=value_range, seed=seed, **kwargs,
        )
        self.threshold = threshold

    def unlabeled_loss(self, outputs, images):
        """Cross-entropy of the strong view to the confident weak-view pseudo-labels."""
        weak, strong = outputs
        confidence, labels = _losses.pseudo_labels(weak, self._loss_from_logits)
        mask = ops.cast(confidence >= self.threshold, "float32")
        loss = _losses.masked_cross_entropy(strong, labels, mask, self._loss_from_logits)
        return loss, {"mask_rate": ops.mean(mask)}

    def _method_config(self):
        return {"threshold": self.threshold}
