"""JAN (JMMD) and MCC written by hand: one joint forward pass, a term on both domains' outputs.

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
"""

import keras
import tensorflow as tf

import keras_transfer as kt
from benchmarks.references import _harness
from benchmarks.references import adversarial

MULTIPLIERS, PREDICTION_SIGMA = (0.25, 0.5, 1.0, 2.0, 4.0), 0.92
TEMPERATURE = 2.5


def _squared_distances(a):
    squares = tf.reduce_sum(tf.square(a), axis=-1, keepdims=True)
    return tf.maximum(squares - 2.0 * tf.matmul(a, a, transpose_b=True) + tf.transpose(squares), 0.0)


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


class HandDiscrepancy(_harness.HandModel):
    def __init__(self, features, classifier, term, log):
        super().__init__(("loss", "task_loss", log))
        self.features, self.classifier, self.term = features, classifier, term

    def call(self, x, training=False):
        return self.classifier(self.features(x, training=training), training=training)

    def train_step(self, data):
        x, y = data
        n = tf.shape(x["source"])[0]
        variables = self.features.trainable_variables + self.classifier.trainable_variables
        with tf.GradientTape() as tape:
            features = self.features(tf.concat([x["source"], x["target"]], axis=0), training=True)
            probabilities = self.classifier(features, training=True)
            task = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, probabilities[:n]))
            term = self.term(features, probabilities, n)
            loss = task + term
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        for tracker, value in zip(self.trackers, (loss, task, term)):
            tracker.update_state(value)
        return {t.name: t.result() for t in self.trackers}


def _builder(term, log, **options):
    def build(steps):
        x, y, x_target = adversarial._domains(steps)  # pylint: disable=protected-access
        network = _harness.mlp()
        features = keras.Sequential([keras.Input((16,)), network.layers[0]], name="features")
        classifier = keras.Sequential([keras.Input((32,)), network.layers[1]], name="classifier")
        package = kt.models.DomainAdaptationModel(_harness.twin(features), _harness.twin(classifier), **options)
        package.compile(_harness.adam(), "sparse_categorical_crossentropy", jit_compile=False)
        reference = HandDiscrepancy(_harness.twin(features), _harness.twin(classifier), term, log)
        reference.compile(_harness.adam(), jit_compile=False)
        data = kt.data.domain_adaptation_dataset(source=(x, y), target=x_target, batch_size=_harness.BATCH,
                                                 shuffle=False)
        compared = [*reference.features.trainable_weights, *reference.classifier.trainable_weights]
        return (
            _harness.Side(package, {"x": data}, package.trainable_weights),
            _harness.Side(reference, {"x": data}, compared),
        )

    return build


JMMD = _harness.Pair("DomainAdaptationModel (JAN, JMMD)", _builder(jmmd, "alignment_loss", alignment=kt.losses.JMMD()))
MCC = _harness.Pair("DomainAdaptationModel (MCC)",
                    _builder(mcc, "mcc_loss", alignment=None, regularizers=[kt.losses.MCC()]))
PAIRS = [JMMD, MCC]
