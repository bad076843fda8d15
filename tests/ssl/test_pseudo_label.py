"""`PseudoLabel`: hard labels from the model's own confident predictions, with a ramped weight."""

import keras
import numpy as np

import keras_transfer as kt
from tests.generative import tiny
from tests.test_case import TestCase


class TestPseudoLabel(TestCase):
    def test_loss_mask_and_ramp_match_the_definition_under_jit(self):
        model = tiny.classifier(3)
        x_l, y, x_u = tiny.images(6, seed=1), np.arange(6) % 3, tiny.images(6, seed=2)
        p_l, p_u = model.predict(x_l, verbose=0), model.predict(x_u, verbose=0)
        threshold = float(np.median(p_u.max(-1)))
        learner = kt.ssl.PseudoLabel(model, weak_augmentation=None, threshold=threshold, warmup_steps=1,
                                     rampup_steps=2, unlabeled_weight=0.8)
        learner.compile(optimizer=keras.optimizers.SGD(0.0), jit_compile=True)
        history = learner.fit((x_l, x_u), y, batch_size=6, epochs=4, verbose=0).history  # one step an epoch
        mask = p_u.max(-1) >= threshold
        unlabeled = (-np.log(p_u.max(-1)) * mask).mean()  # the same view is labelled and trained
        supervised = -np.log(p_l[np.arange(6), y]).mean()
        assert 0 < mask.mean() < 1
        ramp = np.array([0.0, 0.0, 0.5, 1.0]) * 0.8  # 0 during warm-up, then linear over 2 steps
        self.assertAllClose(history["unlabeled_weight"], ramp, atol=1e-6)
        self.assertAllClose(history["mask_rate"], [mask.mean()] * 4, atol=1e-6)
        self.assertAllClose(history["unlabeled_loss"], [unlabeled] * 4, atol=1e-5)
        self.assertAllClose(history["loss"], supervised + ramp * unlabeled, atol=1e-5)

    def test_the_unlabelled_loss_alone_makes_the_model_more_confident(self):
        # No labelled signal (sample weights 0): only the pseudo-labels train, and
        # training on one's own argmax lowers the entropy of the predictions.
        model = tiny.classifier(3)
        x_u = tiny.images(16, seed=3)
        before = model.predict(x_u, verbose=0).max(-1).mean()
        learner = kt.ssl.PseudoLabel(model, weak_augmentation=None, threshold=0.0, rampup_steps=0)
        learner.compile(optimizer=keras.optimizers.SGD(0.5))
        learner.fit((x_u, x_u), np.zeros(16), sample_weight=np.zeros(16), batch_size=16, epochs=5, verbose=0)
        assert model.predict(x_u, verbose=0).max(-1).mean() > before + 0.02
