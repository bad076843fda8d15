"""What every semi-supervised learner built on `SemiSupervisedLearner` gets from the base.

One table over the learners: a `jit_compile=True` fit that trains the model,
the logs of the method, a `.keras` round trip without `custom_objects` that
keeps the method's state and continues, and bad arguments named before any
training. The method's own properties are in `test_<method>.py`.
"""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from tests.generative import tiny
from tests.test_case import TestCase

LEARNERS = {
    "PseudoLabel": (kt.ssl.PseudoLabel, dict(threshold=0.5, rampup_steps=2),
                    {"unlabeled_loss", "mask_rate", "unlabeled_weight"}),
    "MeanTeacher": (kt.ssl.MeanTeacher, dict(ema_decay=0.9, rampup_steps=2), {"unlabeled_loss", "unlabeled_weight"}),
    "UDA": (kt.ssl.UDA, dict(threshold=0.5), {"unlabeled_loss", "mask_rate"}),
    "FlexMatch": (kt.ssl.FlexMatch, dict(threshold=0.5, status_momentum=0.5), {"unlabeled_loss", "mask_rate"}),
}


def _state(learner):
    """The weights of the learner that are not the student's: the teacher, the learning status."""
    student = {id(v) for v in learner.model.weights}
    return [np.array(v) for v in learner.weights if id(v) not in student and "float" in str(v.dtype)]


class TestEveryLearner(TestCase):
    @pytest.mark.parametrize("name", list(LEARNERS))
    def test_fit_save_load_keeps_the_method_state(self, name):
        # `jit_compile=True`: each method's property test in test_<method>.py.
        cls, kwargs, extra = LEARNERS[name]
        learner = cls(tiny.classifier(2), seed=0, **kwargs)
        learner.compile(optimizer="adam", metrics=["accuracy"])
        x, y, x_u = tiny.images(8), np.arange(8) % 2, tiny.images(8, seed=2)
        before = tiny.weights_of(learner.model)
        history = learner.fit((x, x_u), y, batch_size=4, epochs=1, verbose=0).history
        assert set(history) == {"loss", "accuracy"} | extra
        assert all(np.isfinite(v[0]) for v in history.values())
        assert tiny.changed(before, learner.model)
        assert set(learner.evaluate(x, y, verbose=0, return_dict=True)) == {"loss", "accuracy"}
        self.assertAllClose(learner.predict(x, verbose=0), learner.model.predict(x, verbose=0))
        path = self.tmp_path_str(f"{name}.keras")
        learner.save(path)
        revived = keras.models.load_model(path)
        assert type(revived) is cls
        assert {**revived.get_config(), "model": None} == {**learner.get_config(), "model": None}
        self.assertAllClose(revived.predict(x, verbose=0), learner.predict(x, verbose=0))
        state = _state(learner)
        assert len(state) == {"MeanTeacher": 4, "FlexMatch": 1}.get(name, 0)
        for a, b in zip(_state(revived), state):
            self.assertAllEqual(a, b)
        self.assertAllEqual(revived.weak_augmentation.seed_generator.state, learner.weak_augmentation.seed_generator.state)
        assert int(revived.optimizer.iterations.numpy()) == 2

    @pytest.mark.parametrize("name", ["MeanTeacher"])
    def test_pseudo_ssl_generator_supplies_the_unlabelled_images(self, name):
        cls, kwargs, _ = LEARNERS[name]
        psg = kt.layers.PseudoSSLGenerator(tiny.generator(classes=3), tiny.classifier(3), seed=0)
        learner = cls(tiny.classifier(2), pseudo_generator=psg, unlabeled_ratio=2, seed=0, **kwargs)
        learner.compile(optimizer="adam")
        assert {id(v) for v in learner.trainable_variables} == {id(v) for v in learner.model.trainable_variables}
        history = learner.fit(tiny.images(4), np.arange(4) % 2, batch_size=4, verbose=0).history
        assert np.isfinite(history["unlabeled_loss"][0])

    def test_only_the_views_a_method_uses_are_built(self):
        assert kt.ssl.PseudoLabel(tiny.classifier(2)).strong_augmentation is None
        assert "strong_augmentation" not in kt.ssl.MeanTeacher(tiny.classifier(2)).get_config()
        assert isinstance(kt.ssl.UDA(tiny.classifier(2)).strong_augmentation, kt.layers.StrongAugment)


BAD = [
    (kt.ssl.PseudoLabel, {"threshold": 1.5}, ValueError, r"`threshold`.*Received: threshold=1.5"),
    (kt.ssl.PseudoLabel, {"rampup_steps": -1}, ValueError, r"`rampup_steps`.*Received: rampup_steps=-1"),
    (kt.ssl.PseudoLabel, {"warmup_steps": 0.5}, TypeError, r"`warmup_steps`.*an integer"),
    (kt.ssl.MeanTeacher, {"ema_decay": 1.0}, ValueError, r"`ema_decay`.*\[0, 1\).*Received: ema_decay=1.0"),
    (kt.ssl.MeanTeacher, {"ema_decay": -0.1}, ValueError, r"`ema_decay`.*Received: ema_decay=-0.1"),
    (kt.ssl.MeanTeacher, {"unlabeled_weight": -1.0}, ValueError, r"`unlabeled_weight`"),
    (kt.ssl.UDA, {"temperature": 0.0}, ValueError, r"`temperature`.*> 0.*Received: temperature=0.0"),
    (kt.ssl.UDA, {"threshold": -0.2}, ValueError, r"`threshold`.*Received: threshold=-0.2"),
    (kt.ssl.UDA, {"strong_augmentation": "strong"}, TypeError, r"`strong_augmentation`"),
    (kt.ssl.FlexMatch, {"threshold": 2.0}, ValueError, r"`threshold`.*Received: threshold=2.0"),
    (kt.ssl.FlexMatch, {"mapping": "concave"}, ValueError, r"`mapping`.*'convex', 'linear'.*Received: mapping='concave'"),
    (kt.ssl.FlexMatch, {"warmup": "yes"}, TypeError, r"`warmup`.*a bool"),
    (kt.ssl.FlexMatch, {"status_momentum": 1.0}, ValueError, r"`status_momentum`.*\[0, 1\)"),
    (kt.ssl.FlexMatch, {"unlabeled_ratio": 0}, ValueError, r"`unlabeled_ratio`"),
]


@pytest.mark.parametrize("cls, kwargs, error, match", BAD, ids=[f"{c.__name__}-{next(iter(k))}" for c, k, _, _ in BAD])
def test_bad_arguments_are_named(cls, kwargs, error, match):
    with pytest.raises(error, match=match):
        cls(tiny.classifier(2), **kwargs)


@pytest.mark.parametrize("cls", [kt.ssl.PseudoLabel, kt.ssl.MeanTeacher, kt.ssl.UDA, kt.ssl.FlexMatch])
def test_no_unlabelled_data_is_named_before_training(cls):
    learner = cls(tiny.classifier(2))
    learner.compile(optimizer="adam")
    with pytest.raises(ValueError, match=rf"{cls.__name__} needs unlabelled images"):
        learner.fit(tiny.images(4), np.arange(4) % 2, batch_size=4, verbose=0)
    with pytest.raises(ValueError, match=r"x\[0\]|label"):
        learner.fit((tiny.images(4), tiny.images(4)), np.arange(4) + 5, batch_size=4, verbose=0)
