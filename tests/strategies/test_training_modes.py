"""`transfer` passes XLA, mixed precision and tf.distribute through to the strategies' train steps."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from tests.distributed import run_distributed
from tests.strategies.test_transfer import CASES
from tests.strategies.test_transfer import X_VAL
from tests.test_case import tiny_backbone

MODES = [
    # The default run covers each axis once; the strategies' own tests cover their train steps in depth.
    pytest.param("coral", "mixed_float16", False, id="coral-float16"),
    pytest.param("feature_extraction", "mixed_bfloat16", True, id="feature_extraction-bfloat16-jit"),
    *[
        pytest.param(name, policy, jit, id=f"{name}-{policy}-{'jit' if jit else 'nojit'}", marks=pytest.mark.large)
        for name in CASES
        for policy, jit in (("mixed_float16", True), ("mixed_bfloat16", False))
    ],
]


@pytest.mark.parametrize("name, policy, jit", MODES)
def test_precision_and_xla(name, policy, jit):
    keras.config.set_dtype_policy(policy)
    strategy = kt.strategies.get_strategy(name)
    model, history = kt.transfer(
        name, tiny_backbone(), preprocessing="unit", batch_size=8, seed=0, verbose=0, jit_compile=jit,
        **{**({"epochs": 1} if strategy.trains else {}), **CASES[name]},
    )
    assert all(np.isfinite(v).all() for v in history.history.values()), history.history
    predictions = model.predict(X_VAL, verbose=0)
    assert predictions.dtype == np.float32 and np.isfinite(predictions).all()


BODY = """
from tests.strategies.test_transfer import CASES, X_VAL
from tests.test_case import tiny_backbone
for name in {names}:
    with strategy.scope():
        spec = kt.strategies.get_strategy(name)
        result = kt.transfer(name, tiny_backbone(), preprocessing="unit", batch_size=8, seed=0, verbose=0,
                             **{{**({{"epochs": 1}} if spec.trains else {{}}), **CASES[name]}})
    losses = result.history.history["loss"]
    assert np.isfinite(losses).all(), (name, losses)
    assert result.model.predict(X_VAL, verbose=0).shape == (len(X_VAL), 3)
    print(name, "replicas", result.model.distribute_strategy.num_replicas_in_sync)
    assert result.model.distribute_strategy.num_replicas_in_sync == 2
print("OK")
"""


@pytest.mark.large  # a TensorFlow subprocess (~10-25 s); each strategy's own tests cover its step under Mirrored
def test_mirrored_strategy_two_logical_cpus():
    run_distributed(BODY.format(names=["coral"]))


@pytest.mark.large
def test_mirrored_strategy_every_strategy():
    run_distributed(BODY.format(names=list(CASES)), timeout=1200)
