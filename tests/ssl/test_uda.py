"""`UDA`: KL from the sharpened weak-view prediction to the strong-view prediction, confidence-masked."""

import keras
import numpy as np

import keras_transfer as kt
from tests.generative import tiny
from tests.test_case import TestCase


def _softmax(z):
    z = z - z.max(-1, keepdims=True)
    return np.exp(z) / np.exp(z).sum(-1, keepdims=True)


class TestUDA(TestCase):
    def test_loss_matches_the_definition_under_jit(self):
        # The strong view is the image flipped left-right, the weak view the image itself:
        # the two predictions differ, so the KL is not zero.
        model = tiny.classifier(3)
        x_l, y, x_u = tiny.images(6, seed=1), np.arange(6) % 3, tiny.images(6, seed=2)
        p_l, p_weak = model.predict(x_l, verbose=0), model.predict(x_u, verbose=0)
        p_strong = model.predict(x_u[:, :, ::-1], verbose=0)
        threshold = float(np.median(p_weak.max(-1)))
        flip = keras.layers.Lambda(lambda images: images[:, :, ::-1])  # a deterministic "augmentation"
        learner = kt.ssl.UDA(model, weak_augmentation=None, strong_augmentation=flip, threshold=threshold,
                             temperature=0.5, unlabeled_weight=2.0)
        learner.compile(optimizer=keras.optimizers.SGD(0.0), jit_compile=True)
        history = learner.fit((x_l, x_u), y, batch_size=6, epochs=1, verbose=0).history
        target = _softmax(np.log(p_weak) / 0.5)
        kl = (target * (np.log(target) - np.log(p_strong))).sum(-1)
        mask = p_weak.max(-1) >= threshold
        assert 0 < mask.mean() < 1 and kl.min() > 0
        self.assertAllClose(history["mask_rate"][0], mask.mean(), atol=1e-6)
        self.assertAllClose(history["unlabeled_loss"][0], (kl * mask).mean(), atol=1e-5)
        supervised = -np.log(p_l[np.arange(6), y]).mean()
        self.assertAllClose(history["loss"][0], supervised + 2.0 * (kl * mask).mean(), atol=1e-5)
        # Sharpening matters: at temperature 1 the target is the weak prediction itself.
        assert not np.allclose(target, p_weak, atol=1e-3)
