"""The regulariser wrappers expose the wrapped classifier's layer groups (for DiscriminativeLR, FreezeSchedule)."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from tests.regularizers.nets import X, Y, trunk_and_heads

WRAPPERS = {
    "bss": lambda target: kt.models.BSSModel(target, eta=0.0),
    "delta": lambda target: kt.models.DELTAModel(target, alpha=0.0, beta=0.0),
}


def _one_step(model, callbacks):
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    model.fit(X, Y, batch_size=len(X), epochs=1, shuffle=False, verbose=0, callbacks=callbacks)


@pytest.mark.parametrize("name", sorted(WRAPPERS))
def test_groups_are_the_wrapped_models(name):
    _, target = trunk_and_heads()
    assert list(kt.layer_groups(WRAPPERS[name](target))) == list(kt.layer_groups(target)) == ["trunk_dense", "head"]


@pytest.mark.parametrize("name", sorted(WRAPPERS))
def test_discriminative_rates_reach_the_head_and_the_trunk(name):
    # With a zero penalty, the wrapper's step under per-group rates is the plain model's step.
    _, plain = trunk_and_heads()
    start = [w.copy() for w in plain.get_weights()]
    _one_step(plain, [kt.callbacks.DiscriminativeLR(lr_range=(0.01, 1.0))])
    _, target = trunk_and_heads()
    _one_step(WRAPPERS[name](target), [kt.callbacks.DiscriminativeLR(lr_range=(0.01, 1.0))])
    for expected, actual, first in zip(plain.get_weights(), target.get_weights(), start):
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-7)
    head_step = np.abs(target.get_weights()[-2] - start[-2]).max()
    trunk_step = np.abs(target.get_weights()[0] - start[0]).max()
    assert head_step > 1e-3 and trunk_step < head_step  # the head at the full rate, the trunk at 1 %
