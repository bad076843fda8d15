"""`FlexMatch`: class thresholds from each class's learning status, kept in a saved variable."""

import keras
import numpy as np
import tensorflow as tf

import keras_transfer as kt
from tests.generative import tiny
from tests.test_case import TestCase


def _biased(classes=3, probabilities=(0.9, 0.05, 0.05)):
    """A classifier that predicts `probabilities` for every image (zero kernel, log-probability bias)."""
    model = tiny.classifier(classes)
    layer = model.get_layer("predictions")
    kernel, _ = layer.get_weights()
    layer.set_weights([np.zeros_like(kernel), np.log(np.asarray(probabilities, "float32"))])
    return model


def _thresholds(status, threshold, warmup=True):
    status = np.asarray(status, "float64")
    denominator = max(status.max(), 1 - status.sum()) if warmup else status.max()
    beta = status / max(denominator, 1e-12)
    return threshold * beta / (2 - beta)


class TestFlexMatch(TestCase):
    def test_the_threshold_of_the_learnt_class_rises_the_others_stay_under_jit(self):
        # Class 0 is predicted confidently on every unlabelled image; 1 and 2 never.
        learner = kt.ssl.FlexMatch(_biased(), threshold=0.8, status_momentum=0.7, weak_augmentation=None,
                                   strong_augmentation=None)
        learner.compile(optimizer=keras.optimizers.SGD(0.0), jit_compile=True)
        self.assertAllEqual(learner.class_thresholds(), [0.0, 0.0, 0.0])  # warm-up: nothing learnt yet
        x, y = tiny.images(4), np.arange(4) % 3
        seen = []
        for _ in range(3):
            learner.fit((x, x), y, batch_size=4, epochs=1, verbose=0)
            seen.append(np.asarray(learner.class_thresholds()))
        status = [1 - 0.7 ** k for k in (1, 2, 3)]  # EMA of the batch share of class 0
        self.assertAllClose(learner.class_status, [status[-1], 0.0, 0.0], atol=1e-6)
        for k, thresholds in enumerate(seen):
            self.assertAllClose(thresholds, _thresholds([status[k], 0, 0], 0.8), atol=1e-6)
        assert 0 < seen[0][0] < seen[1][0] <= 0.8 and all(t[1] == t[2] == 0 for t in seen)
        path = self.tmp_path_str("flexmatch.keras")
        learner.save(path)
        self.assertAllClose(keras.models.load_model(path).class_thresholds(), seen[-1], atol=1e-7)

    def test_the_mask_uses_the_threshold_of_each_pseudo_labels_class(self):
        model = tiny.classifier(3)
        x_l, y, x_u = tiny.images(6, seed=1), np.arange(6) % 3, tiny.images(32, seed=2)
        p_u = model.predict(x_u, verbose=0)
        learner = kt.ssl.FlexMatch(model, threshold=0.9, weak_augmentation=None, strong_augmentation=None)
        status = np.array([0.5, 0.3, 0.05], "float32")
        learner.class_status.assign(status)
        thresholds = _thresholds(status, 0.9)
        self.assertAllClose(learner.class_thresholds(), thresholds, atol=1e-6)
        assert len(set(np.round(thresholds, 4))) == 3
        learner.compile(optimizer=keras.optimizers.SGD(0.0))
        batch = tf.data.Dataset.from_tensors(((x_l, x_u), y))  # 6 labelled and 32 unlabelled images
        history = learner.fit(batch, epochs=1, verbose=0).history
        mask = p_u.max(-1) >= thresholds[p_u.argmax(-1)]
        assert 0 < mask.mean() < 1
        self.assertAllClose(history["mask_rate"][0], mask.mean(), atol=1e-6)
        self.assertAllClose(history["unlabeled_loss"][0], (-np.log(p_u.max(-1)) * mask).mean(), atol=1e-5)

    def test_without_warmup_the_status_is_normalised_by_the_best_class(self):
        learner = kt.ssl.FlexMatch(tiny.classifier(3), threshold=0.9, warmup=False, mapping="linear")
        learner.class_status.assign(np.array([0.1, 0.05, 0.0], "float32"))  # most images unused
        self.assertAllClose(learner.class_thresholds(), [0.9, 0.45, 0.0], atol=1e-6)
