"""`WDGRL`: features aligned by a Wasserstein critic with a gradient penalty, trained in `fit`."""

import keras
import tensorflow as tf
from keras import ops

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.domain_adaptation import _adversary
from keras_transfer.domain_adaptation._adversary import SeparateAdversaryOptimizer
from keras_transfer.domain_adaptation.domain_adaptation_model import DomainAdaptationModel
from keras_transfer.models import _replicas

_LOG_KEYS = ("alignment_loss", "gradient_penalty")


def wasserstein_terms(critic, source, target, alpha):
    """`(distance, penalty)`: the critic's Wasserstein-1 estimate and its gradient penalty.

    `distance = mean critic(source) - mean critic(target)`; `penalty =
    mean (||grad critic(h)|| - 1)^2` over the interpolates
    `h = alpha * source + (1 - alpha) * target` of the first `len(alpha)`
    pairs (Gulrajani et al. 2017). Both are means over the global batch under
    `tf.distribute`. One call of the critic scores the three sets.
    """
    source, target = ops.cast(source, "float32"), ops.cast(target, "float32")
    n_source, n_target = ops.shape(source)[0], ops.shape(target)[0]
    n = ops.shape(alpha)[0]
    alpha = ops.reshape(ops.cast(alpha, "float32"), (-1,) + (1,) * (len(source.shape) - 1))
    interpolates = alpha * source[:n] + (1.0 - alpha) * target[:n]
    with tf.GradientTape() as tape:
        tape.watch(interpolates)
        scores = _adversary.score(critic, ops.concatenate([source, target, interpolates], axis=0))
        interpolated = ops.sum(scores[n_source + n_target:])
    gradients = ops.cast(tape.gradient(interpolated, interpolates), "float32")
    norms = ops.sqrt(ops.sum(ops.square(gradients), axis=tuple(range(1, len(gradients.shape)))) + 1e-12)
    penalty = _adversary.batch_mean(ops.square(norms - 1.0))
    distance = _adversary.batch_mean(scores[:n_source]) - _adversary.batch_mean(scores[n_source:n_source + n_target])
    return distance, penalty


@keras_transfer_export("keras_transfer.models.WDGRL")
class WDGRL(SeparateAdversaryOptimizer, DomainAdaptationModel):
    """Domain adaptation by a Wasserstein critic (WDGRL), trained by `fit`.

    A `DomainAdaptationModel` whose alignment is the Wasserstein-1 distance
    between the source and target feature distributions, estimated by a
    `critic` (features -> one unbounded score). Each training step:

    1. `critic_steps` updates of the critic (its own optimizer, the feature
       batch fixed) maximising
       `mean critic(h_s) - mean critic(h_t) - gradient_penalty_weight * GP`,
       with `GP = mean (||grad critic(h)|| - 1)^2` over random interpolates
       `h = a h_s + (1 - a) h_t`, `a ~ U(0, 1)` per pair, which keeps the
       critic near 1-Lipschitz;
    2. one update of `feature_extractor` and `classifier` minimising
       `task_loss + alignment_weight * (mean critic(h_s) - mean critic(h_t))`
       (+ each regulariser's weighted term).

    Logs `loss` (that sum), `task_loss`, `alignment_loss` (the critic's
    Wasserstein estimate), `gradient_penalty` (of the last critic update),
    each regulariser's term and the compiled metrics on the source batch.
    Everything else is `DomainAdaptationModel`'s contract: the batches of
    `keras_transfer.data.domain_adaptation_dataset`, `joint_forward`,
    `sample_weight` weighting the source task loss, `predict(x)` =
    `classifier(feature_extractor(x))`, `inference_model`, `tf.distribute`
    (the means are those of the global batch, and the interpolation weights
    are drawn for the global batch, so two replicas train as one device).

    The papers' setting has no target labels. A few labelled target examples
    go into `source=` of the dataset with the source examples (they are
    labelled; the critic then sees them as source).

    Args:
        feature_extractor: a Keras model or layer, inputs -> features.
        classifier: a Keras model or layer, features -> class predictions.
        critic: a Keras model or layer, features -> one unbounded score per
            example (no sigmoid; no BatchNormalization, which would couple the
            examples of the gradient penalty). Defaults to
            `Dense(100, relu) -> Dense(1)` in float32 (the paper's digits
            critic).
        alignment_weight: float >= 0, the weight of the Wasserstein estimate
            in the feature extractor's loss (the paper's lambda). Defaults to
            `1.0`.
        gradient_penalty_weight: float >= 0, the paper's gamma. Defaults to
            `10.0`.
        critic_steps: int >= 1, critic updates per training step. Defaults
            to `5`.
        critic_optimizer: a Keras optimizer for the critic, or `None`: a new
            optimizer with the compiled optimizer's class and config. Defaults
            to `None`.
        joint_forward: bool, one feature pass over both domains or one per
            domain. Defaults to `True`.
        regularizers: a list of `keras_transfer.losses.DomainRegularizer`
            added to the feature extractor's loss. Defaults to none.
        from_logits: as in `DomainAdaptationModel`. Defaults to `None`.
        seed: int or `None`, the seed of the interpolation weights.
            Defaults to `None`.

    Call arguments:
        inputs: a batch of inputs.
        training: bool.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> features = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu")])
    >>> classifier = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, activation="softmax")])
    >>> model = keras_transfer.models.WDGRL(features, classifier, critic_steps=2, seed=0)
    >>> model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    >>> rng = np.random.default_rng(0)
    >>> data = keras_transfer.data.domain_adaptation_dataset(
    ...     source=(rng.normal(size=(64, 4)), rng.integers(0, 3, 64)),
    ...     target=rng.normal(1.0, 1.0, size=(48, 4)), batch_size=16)
    >>> history = model.fit(data, epochs=1, verbose=0)
    >>> sorted(history.history)
    ['accuracy', 'alignment_loss', 'gradient_penalty', 'loss', 'task_loss']
    >>> model.predict(np.zeros((2, 4)), verbose=0).shape
    (2, 3)

    Reference:
        Shen et al., "Wasserstein Distance Guided Representation Learning
        for Domain Adaptation", AAAI 2018; Gulrajani et al., "Improved
        Training of Wasserstein GANs", NeurIPS 2017.
    """

    _nested_config = ("feature_extractor", "classifier", "critic", "critic_optimizer")
    _trained_attributes = ("feature_extractor", "classifier")
    _adversary = "critic"
    _adversary_optimizer = "critic_optimizer"

    def __init__(self, feature_extractor, classifier, critic=None, alignment_weight=1.0, gradient_penalty_weight=10.0,
                 critic_steps=5, critic_optimizer=None, joint_forward=True, regularizers=None, from_logits=None,
                 seed=None, **kwargs):
        # The parent may build the model before the critic exists: lock the state at the end.
        object.__setattr__(self, "_defer_lock", True)
        super().__init__(feature_extractor, classifier, alignment=None, alignment_weight=alignment_weight,
                         joint_forward=joint_forward, regularizers=regularizers, from_logits=from_logits, **kwargs)
        if critic is None:
            critic = _adversary.default_adversary((100,), name="critic")
        self.critic = _adversary.check_adversary("critic", critic, independent_rows=True)
        self.gradient_penalty_weight = _checks.check_float("gradient_penalty_weight", gradient_penalty_weight,
                                                           minimum=0.0)
        self.critic_steps = _checks.check_int("critic_steps", critic_steps, minimum=1)
        self._init_adversary_optimizer(critic_optimizer)
        self.seed = None if seed is None else _checks.check_int("seed", seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)
        self.alignment = self.critic  # the parent's step adds `alignment_weight * _alignment_loss(...)`
        self.alignment_loss_tracker = keras.metrics.Mean(name="alignment_loss")
        self.gradient_penalty_tracker = keras.metrics.Mean(name="gradient_penalty")
        object.__setattr__(self, "_defer_lock", False)
        if self.built:  # the parent built the feature extractor and the classifier
            self._build_critic(self._built_input_shape)
            self._lock_state()

    def _lock_state(self):
        if not getattr(self, "_defer_lock", False):
            super()._lock_state()

    # === Build ===
    def build(self, input_shape):
        super().build(input_shape)
        self._built_input_shape = input_shape
        if getattr(self, "critic", None) is not None:
            self._build_critic(input_shape)

    def _build_critic(self, input_shape):
        if isinstance(input_shape, dict) and "source" in input_shape:
            input_shape = input_shape["source"]
        if not self.critic.built:
            if isinstance(input_shape, dict):  # token inputs of a text encoder
                shape = tuple(self.feature_extractor.output_shape)
            else:
                shape = self.feature_extractor.compute_output_spec(keras.KerasTensor(tuple(input_shape))).shape
            self.critic.build(tuple(shape))
        self._build_adversary_optimizer()

    # === Training ===
    def _interpolation_weights(self, n):
        """`a ~ U(0, 1)` per pair, drawn for the global batch (each replica keeps its slice)."""
        replicas = _replicas.num_replicas()
        draws = keras.random.uniform((n * replicas,), seed=self.seed_generator)
        if replicas == 1:
            return draws
        return ops.slice(draws, (_replicas.replica_id() * n,), (n,))

    def _train_critic(self, source, target):
        """`critic_steps` critic updates on a fixed feature batch; returns the last gradient penalty."""
        n = min(source.shape[0], target.shape[0]) if None not in (source.shape[0], target.shape[0]) else (
            ops.minimum(ops.shape(source)[0], ops.shape(target)[0]))
        penalty = None
        for _ in range(self.critic_steps):
            alpha = self._interpolation_weights(n)
            with tf.GradientTape() as tape:
                distance, penalty = wasserstein_terms(self.critic, source, target, alpha)
                loss = self._replica_loss(self.gradient_penalty_weight * penalty - distance)
                scaled = self._scale_adversary_loss(loss)
            self._train_adversary(tape, scaled)
        return penalty

    def fit(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.fit`; in-memory batches and `sample_weight` are checked first."""
        _adversary.check_sample_weight(x, kwargs.get("sample_weight"))
        return super().fit(x, y, *args, **kwargs)

    def _alignment_loss(self, features, predictions, n_source, training):
        """The critic's updates on the (fixed) feature batch, then its estimate, differentiable in the features."""
        source, target = features[:n_source], features[n_source:]
        penalty = self._train_critic(ops.stop_gradient(source), ops.stop_gradient(target))
        self.gradient_penalty_tracker.update_state(penalty)
        scores = _adversary.score(self.critic, ops.cast(features, "float32"))
        return _adversary.batch_mean(scores[:n_source]) - _adversary.batch_mean(scores[n_source:]), None

    def test_step(self, data):
        return {k: v for k, v in super().test_step(data).items() if k not in _LOG_KEYS}

    # === Config ===
    def get_config(self):
        config = super().get_config()
        del config["alignment"]
        config.update({
            "critic": keras.saving.serialize_keras_object(self.critic),
            "gradient_penalty_weight": self.gradient_penalty_weight,
            "critic_steps": self.critic_steps,
            "critic_optimizer": self._adversary_optimizer_config(),
            "seed": self.seed,
        })
        return config
