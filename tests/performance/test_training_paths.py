"""Cross-cutting checks over every registered training path (see training_paths.py)."""

import keras
import numpy as np
import pytest

from tests.performance.training_paths import PATHS

NAMES = sorted(PATHS)
# Paths whose own test area also runs a jit_compile=True step and mixed precision in the
# default run (tests/domain_adaptation, ssl, generative, distill, regularizers): their
# cross-checks here are `large`, to keep the default run short.
COVERED_ELSEWHERE = {name for name in NAMES if name.split(" ")[0] in {
    "DomainAdaptationModel", "FixMatch", "PseudoPretrainer", "Distiller", "L2-SP"}}


def _params(names):
    return [pytest.param(n, marks=pytest.mark.large) if n in COVERED_ELSEWHERE else n for n in names]


@pytest.mark.parametrize("name", _params(NAMES))
def test_jit_compile_matches_no_jit(name):
    keras.utils.set_random_seed(1)
    compiled = PATHS[name](jit_compile=True)
    keras.backend.clear_session()
    keras.utils.set_random_seed(1)
    plain = PATHS[name](jit_compile=False)
    assert np.isfinite(compiled.losses).all()
    assert np.isfinite(compiled.predictions).all()
    if compiled.random:  # XLA draws other random numbers than the TF kernels: equal shapes only
        assert np.shape(compiled.losses) == np.shape(plain.losses)
        assert compiled.predictions.shape == plain.predictions.shape
        return
    np.testing.assert_allclose(compiled.losses, plain.losses, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(compiled.predictions, plain.predictions, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("policy", ["mixed_float16", pytest.param("mixed_bfloat16", marks=pytest.mark.large)])
@pytest.mark.parametrize("name", _params(NAMES))
def test_mixed_precision_finite_losses_float32_predictions(name, policy):
    keras.config.set_dtype_policy(policy)
    run = PATHS[name](jit_compile=False)
    assert np.isfinite(run.losses).all(), run.losses
    assert run.predictions.dtype == np.float32
    np.testing.assert_allclose(run.predictions.sum(axis=1), 1.0, atol=1e-2)
