"""MCD, ADDA and WDGRL written by hand: two players, several updates per batch.

Package sides, on the 16-32-4 MLP split after its hidden layer and
`domain_adaptation_dataset(shuffle=False)` batches (the references read the
same dataset: the data is not the step):

- `MCDModel(features, classifier, second_classifier)` (`generator_steps=1`).
  Reference: one Adam for the three updates of a batch, its iteration count
  put back before B and C (each update uses the batch's step): A, the
  extractor and both classifiers on the two source cross-entropies; B, the
  classifiers on those minus the L1 discrepancy of their target
  probabilities (features of the updated extractor, fixed); C, the extractor
  on the discrepancy, its target features those B read, recorded on a tape
  of their own.
- `ADDA(features, classifier, discriminator)` (stage 2). Reference: the
  source features without gradient (inference mode), one discriminator pass
  on source and target features, the discriminator's cross-entropy (source
  1, target 0) and the target extractor's inverted one, each applied by its
  own Adam from one persistent tape.
- `WDGRL(features, classifier, critic, seed=0)` (5 critic updates per
  batch, gradient penalty weight 10). Reference: one joint forward pass;
  the critic trained 5 times on the fixed features (its own Adam), each
  time with interpolation weights drawn from a `keras.random.SeedGenerator(0)`
  of its own (the package's stream, so both sides draw the same numbers),
  one critic call on source, target and interpolates, the penalty from an
  inner tape; then the source cross-entropy plus the Wasserstein estimate
  of the updated critic.
"""

import keras
import tensorflow as tf

import keras_transfer as kt
from benchmarks.references import _harness
from benchmarks.references import adversarial

CRITIC_STEPS, PENALTY_WEIGHT, SEED = 5, 10.0, 0


def _cross_entropy(y, probabilities):
    return tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, probabilities))


def _scores(network, features):
    return tf.reshape(network(features, training=True), [-1])


def _apply(optimizer, tape, loss, variables):
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))


class HandMCD(_harness.HandModel):
    def __init__(self, features, first, second):
        super().__init__(("loss", "discrepancy"))
        self.features, self.first, self.second = features, first, second

    def call(self, x, training=False):
        return self.first(self.features(x, training=training), training=training)

    def _source_loss(self, features, y):
        return (_cross_entropy(y, self.first(features, training=True))
                + _cross_entropy(y, self.second(features, training=True)))

    def _discrepancy(self, features):
        return tf.reduce_mean(tf.abs(self.first(features, training=True) - self.second(features, training=True)))

    def train_step(self, data):
        x, y = data
        iteration = tf.identity(self.optimizer.iterations)
        extractor = self.features.trainable_variables
        classifiers = self.first.trainable_variables + self.second.trainable_variables
        with tf.GradientTape() as tape:  # A
            loss = self._source_loss(self.features(x["source"], training=True), y)
        _apply(self.optimizer, tape, loss, extractor + classifiers)
        with tf.GradientTape() as extractor_tape:
            target = self.features(x["target"], training=True)
        source = tf.stop_gradient(self.features(x["source"], training=True))
        with tf.GradientTape() as tape:  # B
            discrepancy = self._discrepancy(tf.stop_gradient(target))
            classifier_loss = self._source_loss(source, y) - discrepancy
        self.optimizer.iterations.assign(iteration)
        _apply(self.optimizer, tape, classifier_loss, classifiers)
        with extractor_tape:  # C
            extractor_loss = self._discrepancy(target)
        self.optimizer.iterations.assign(iteration)
        _apply(self.optimizer, extractor_tape, extractor_loss, extractor)
        for tracker, value in zip(self.trackers, (loss, discrepancy)):
            tracker.update_state(value)
        return {t.name: t.result() for t in self.trackers}


class HandADDA(_harness.HandModel):
    def __init__(self, source_features, target_features, classifier, discriminator):
        super().__init__(("loss", "discriminator_loss", "domain_accuracy"))
        self.source_features, self.target_features = source_features, target_features
        self.classifier, self.discriminator = classifier, discriminator
        self.discriminator_optimizer = _harness.adam()

    def call(self, x, training=False):
        return self.classifier(self.target_features(x, training=training), training=False)

    def train_step(self, data):
        x, _ = data
        n = tf.shape(x["source"])[0]
        source = tf.stop_gradient(self.source_features(x["source"], training=False))
        with tf.GradientTape(persistent=True) as tape:
            target = self.target_features(x["target"], training=True)
            logits = _scores(self.discriminator, tf.concat([source, target], axis=0))
            ones = tf.ones_like(logits[n:])
            discriminator_loss = (
                tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.ones_like(logits[:n]),
                                                                       logits=logits[:n]))
                + tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=0.0 * ones, logits=logits[n:])))
            loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=ones, logits=logits[n:]))
        _apply(self.optimizer, tape, loss, self.target_features.trainable_variables)
        _apply(self.discriminator_optimizer, tape, discriminator_loss, self.discriminator.trainable_variables)
        del tape
        correct = tf.cast(logits > 0.0, tf.float32)
        accuracy = 0.5 * (tf.reduce_mean(correct[:n]) + tf.reduce_mean(1.0 - correct[n:]))
        for tracker, value in zip(self.trackers, (loss, discriminator_loss, accuracy)):
            tracker.update_state(value)
        return {t.name: t.result() for t in self.trackers}


class HandWDGRL(_harness.HandModel):
    def __init__(self, features, classifier, critic):
        super().__init__(("loss", "task_loss", "alignment_loss", "gradient_penalty"))
        self.features, self.classifier, self.critic = features, classifier, critic
        self.critic_optimizer = _harness.adam()
        self.seeds = keras.random.SeedGenerator(SEED)

    def call(self, x, training=False):
        return self.classifier(self.features(x, training=training), training=training)

    def _critic_update(self, source, target):
        """One critic update on fixed features: maximise the Wasserstein estimate minus the gradient penalty."""
        n_source, n_target = tf.shape(source)[0], tf.shape(target)[0]
        n = tf.minimum(n_source, n_target)
        alpha = keras.random.uniform((n,), seed=self.seeds)[:, None]
        mixed = alpha * source[:n] + (1.0 - alpha) * target[:n]
        with tf.GradientTape() as tape:
            with tf.GradientTape() as inner:
                inner.watch(mixed)
                scores = _scores(self.critic, tf.concat([source, target, mixed], axis=0))
                mixed_sum = tf.reduce_sum(scores[n_source + n_target:])
            slopes = tf.sqrt(tf.reduce_sum(tf.square(inner.gradient(mixed_sum, mixed)), axis=1) + 1e-12)
            penalty = tf.reduce_mean(tf.square(slopes - 1.0))
            distance = tf.reduce_mean(scores[:n_source]) - tf.reduce_mean(scores[n_source:n_source + n_target])
            loss = PENALTY_WEIGHT * penalty - distance
        _apply(self.critic_optimizer, tape, loss, self.critic.trainable_variables)
        return penalty

    def train_step(self, data):
        x, y = data
        n = tf.shape(x["source"])[0]
        variables = self.features.trainable_variables + self.classifier.trainable_variables
        with tf.GradientTape() as tape:
            features = self.features(tf.concat([x["source"], x["target"]], axis=0), training=True)
            task = _cross_entropy(y, self.classifier(features, training=True)[:n])
            fixed = tf.stop_gradient(features)
            with tape.stop_recording():
                for _ in range(CRITIC_STEPS):
                    penalty = self._critic_update(fixed[:n], fixed[n:])
            scores = _scores(self.critic, features)
            distance = tf.reduce_mean(scores[:n]) - tf.reduce_mean(scores[n:])
            loss = task + distance
        _apply(self.optimizer, tape, loss, variables)
        for tracker, value in zip(self.trackers, (loss, task, distance, penalty)):
            tracker.update_state(value)
        return {t.name: t.result() for t in self.trackers}


def _data(steps):
    x, y, x_target = adversarial._domains(steps)  # pylint: disable=protected-access
    return kt.data.domain_adaptation_dataset(source=(x, y), target=x_target, batch_size=_harness.BATCH,
                                             shuffle=False)


def _adversary(hidden=16):
    """`Dense(hidden, relu) -> Dense(1)` on the 32 features: ADDA's discriminator, WDGRL's critic."""
    return keras.Sequential([keras.Input((32,)), keras.layers.Dense(hidden, activation="relu"), keras.layers.Dense(1)])


def _sides(package, reference, package_compared, reference_compared, steps):
    package.compile(_harness.adam(), "sparse_categorical_crossentropy", jit_compile=False)
    reference.compile(_harness.adam(), jit_compile=False)
    for name in ("discriminator", "critic"):  # the second player's optimizer, built before the step is traced
        if hasattr(reference, name):
            getattr(reference, f"{name}_optimizer").build(getattr(reference, name).trainable_variables)
    data = {"x": _data(steps)}
    return _harness.Side(package, data, package_compared), _harness.Side(reference, data, reference_compared)


def build_mcd(steps):
    features, classifier = _harness.split_mlp()
    second = keras.models.clone_model(classifier)  # fresh weights: the classifiers differ from the start
    package = kt.models.MCDModel(_harness.twin(features), _harness.twin(classifier), _harness.twin(second))
    reference = HandMCD(_harness.twin(features), _harness.twin(classifier), _harness.twin(second))
    return _sides(package, reference, package.trainable_weights, reference.trainable_weights, steps)


def build_adda(steps):
    features, classifier = _harness.split_mlp()
    discriminator = _adversary()
    package = kt.models.ADDA(_harness.twin(features), _harness.twin(classifier), _harness.twin(discriminator))
    frozen = [_harness.twin(features), _harness.twin(classifier)]
    for model in frozen:
        model.trainable = False
    reference = HandADDA(frozen[0], _harness.twin(features), frozen[1], _harness.twin(discriminator))
    return _sides(package, reference,
                  [*package.target_feature_extractor.trainable_weights, *package.discriminator.trainable_weights],
                  [*reference.target_features.trainable_weights, *reference.discriminator.trainable_weights], steps)


def build_wdgrl(steps):
    features, classifier = _harness.split_mlp()
    critic = _adversary()
    package = kt.models.WDGRL(_harness.twin(features), _harness.twin(classifier), _harness.twin(critic),
                              critic_steps=CRITIC_STEPS, gradient_penalty_weight=PENALTY_WEIGHT, seed=SEED)
    reference = HandWDGRL(_harness.twin(features), _harness.twin(classifier), _harness.twin(critic))
    return _sides(package, reference, [*package.trainable_weights, *package.critic.trainable_weights],
                  [*reference.features.trainable_weights, *reference.classifier.trainable_weights,
                   *reference.critic.trainable_weights], steps)


MCD = _harness.Pair("MCDModel", build_mcd)
ADDA = _harness.Pair("ADDA (stage 2)", build_adda)
WDGRL = _harness.Pair("WDGRL (5 critic updates, gradient penalty)", build_wdgrl)
PAIRS = [MCD, ADDA, WDGRL]
