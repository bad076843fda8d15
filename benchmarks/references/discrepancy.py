"""JAN (JMMD), MCC and CCSA written by hand: one joint forward pass, a term on both domains' outputs.

Package sides: `DomainAdaptationModel(features, classifier, alignment=JMMD())`
and `DomainAdaptationModel(features, classifier, alignment=None,
regularizers=[MCC()])` (the 16-32-4 MLP split after its hidden layer),
fitted on `domain_adaptation_dataset(shuffle=False)`; the references read
the same dataset (the data is not the step). References: a `keras.Model`
whose `train_step` concatenates the two batches, takes the source
cross-entropy and adds the term: JMMD, the product of the five-bandwidth
Gaussian kernel on the features (the base bandwidth the mean pairwise
squared distance of the joint batch, without gradient) and the 0.92-wide
one on the class probabilities, on one kernel matrix of the joint batch;
MCC, the off-diagonal mass of the entropy-weighted, row-normalised class
correlation of the target's tempered softmax.

CCSA: `DomainAdaptationModel(features, classifier,
alignment=ContrastiveSemanticAlignment())` on batches of source and
labelled target examples (`domain_adaptation_dataset(...,
labelled_target=(x_l, y_l))`, no unlabelled target). Its reference joins
the labelled target batch to the source one in the forward pass and in the
cross-entropy (each example weighing 1, the package's default), and adds
the contrastive term of every source/labelled-target pair: half the mean
squared distance of the same-class pairs plus half the mean squared hinge
`max(0, 1 - distance)` of the others.
"""

import keras
import tensorflow as tf

import keras_transfer as kt
from benchmarks.references import _harness
from benchmarks.references import adversarial

MULTIPLIERS, PREDICTION_SIGMA = (0.25, 0.5, 1.0, 2.0, 4.0), 0.92
TEMPERATURE = 2.5
MARGIN = 1.0


def _squared_distances(a, b=None):
    squares = tf.reduce_sum(tf.square(a), axis=-1, keepdims=True)
    b, b_squares = (a, squares) if b is None else (b, tf.reduce_sum(tf.square(b), axis=-1, keepdims=True))
    return tf.maximum(squares - 2.0 * tf.matmul(a, b, transpose_b=True) + tf.transpose(b_squares), 0.0)


def jmmd(features, probabilities, n):
    d2 = _squared_distances(features)
    m = tf.cast(tf.shape(features)[0], tf.float32)
    base = tf.maximum(tf.stop_gradient(tf.reduce_mean(d2)) * m / tf.maximum(m - 1.0, 1.0), 1e-6)
    kernel = tf.add_n([tf.exp(-d2 / (k * base)) for k in MULTIPLIERS]) / len(MULTIPLIERS)
    kernel *= tf.exp(-_squared_distances(probabilities) / (2.0 * PREDICTION_SIGMA ** 2))
    ss, tt, st = tf.reduce_mean(kernel[:n, :n]), tf.reduce_mean(kernel[n:, n:]), tf.reduce_mean(kernel[:n, n:])
    return tf.maximum(ss + tt - 2.0 * st, 0.0)


def mcc(features, probabilities, n):
    logits = tf.math.log(tf.maximum(probabilities[n:], 1e-7))
    p = tf.nn.softmax(logits / TEMPERATURE)
    entropy = -tf.reduce_sum(p * tf.math.log(p + 1e-5), axis=-1)
    weights = 1.0 + tf.exp(-tf.stop_gradient(entropy))
    weights *= tf.cast(tf.shape(weights)[0], tf.float32) / tf.reduce_sum(weights)
    confusion = tf.matmul(p * weights[:, None], p, transpose_a=True)
    confusion /= tf.reduce_sum(confusion, axis=1, keepdims=True)
    return (tf.reduce_sum(confusion) - tf.linalg.trace(confusion)) / tf.cast(tf.shape(confusion)[0], tf.float32)


def ccsa(features, labels, n):
    """The contrastive term of the pairs (source row `[:n]`, labelled target row `[n:]`)."""
    squared = _squared_distances(features[:n], features[n:])
    distance = tf.sqrt(tf.maximum(squared, 1e-12))
    same = tf.cast(tf.equal(labels[:n, None], labels[None, n:]), tf.float32)
    different = 1.0 - same
    alignment = tf.reduce_sum(same * squared) / tf.maximum(tf.reduce_sum(same), 1.0)
    separation = tf.reduce_sum(different * tf.square(tf.nn.relu(MARGIN - distance))) / tf.maximum(
        tf.reduce_sum(different), 1.0)
    return 0.5 * (alignment + separation)


class HandDiscrepancy(_harness.HandModel):
    """`labelled`: the batch joined to the source one is the labelled target one (its rows in the task loss,
    the term given the labels of all rows instead of the probabilities)."""

    def __init__(self, features, classifier, term, log, labelled=False):
        super().__init__(("loss", "task_loss", log))
        self.features, self.classifier, self.term = features, classifier, term
        self.labelled = labelled

    def call(self, x, training=False):
        return self.classifier(self.features(x, training=training), training=training)

    def train_step(self, data):
        x, y = data
        n = tf.shape(x["source"])[0]
        variables = self.features.trainable_variables + self.classifier.trainable_variables
        with tf.GradientTape() as tape:
            other = x["labelled_target"] if self.labelled else x["target"]
            features = self.features(tf.concat([x["source"], other], axis=0), training=True)
            probabilities = self.classifier(features, training=True)
            if self.labelled:
                labels = tf.concat([y, tf.cast(x["labelled_target_labels"], y.dtype)], axis=0)
                task = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(labels, probabilities))
                term = self.term(features, labels, n)
            else:
                task = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, probabilities[:n]))
                term = self.term(features, probabilities, n)
            loss = task + term
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        for tracker, value in zip(self.trackers, (loss, task, term)):
            tracker.update_state(value)
        return {t.name: t.result() for t in self.trackers}


def _builder(term, log, labelled=False, **options):
    def build(steps):
        x, y, x_target = adversarial._domains(steps)  # pylint: disable=protected-access
        features, classifier = _harness.split_mlp()
        package = kt.models.DomainAdaptationModel(_harness.twin(features), _harness.twin(classifier), **options)
        package.compile(_harness.adam(), "sparse_categorical_crossentropy", jit_compile=False)
        reference = HandDiscrepancy(_harness.twin(features), _harness.twin(classifier), term, log, labelled)
        reference.compile(_harness.adam(), jit_compile=False)
        # CCSA: two batches of labelled target examples (the source shifted and scaled), no unlabelled target
        domains = ({"target": None, "labelled_target": (0.5 + 1.2 * x[:2 * _harness.BATCH], y[:2 * _harness.BATCH])}
                   if labelled else {"target": x_target})
        data = kt.data.domain_adaptation_dataset(source=(x, y), batch_size=_harness.BATCH, shuffle=False, **domains)
        compared = [*reference.features.trainable_weights, *reference.classifier.trainable_weights]
        return (
            _harness.Side(package, {"x": data}, package.trainable_weights),
            _harness.Side(reference, {"x": data}, compared),
        )

    return build


JMMD = _harness.Pair("DomainAdaptationModel (JAN, JMMD)", _builder(jmmd, "alignment_loss", alignment=kt.losses.JMMD()))
MCC = _harness.Pair("DomainAdaptationModel (MCC)",
                    _builder(mcc, "mcc_loss", alignment=None, regularizers=[kt.losses.MCC()]))
CCSA = _harness.Pair("DomainAdaptationModel (CCSA, labelled target)",
                     _builder(ccsa, "alignment_loss", labelled=True,
                              alignment=kt.losses.ContrastiveSemanticAlignment(margin=MARGIN)))
PAIRS = [JMMD, MCC, CCSA]
