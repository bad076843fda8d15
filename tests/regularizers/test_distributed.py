"""L2-SP inside MirroredStrategy (two logical CPUs) matches a single-device run."""

import pytest

from tests.distributed import run_distributed


def test_l2sp_with_freeze_schedule_matches_a_single_device_run():
    run_distributed(
        """
        from tests.test_case import tiny_classifier, tiny_data
        x, y = tiny_data(n=16)

        def train(scope, alpha):
            keras.utils.set_random_seed(11)
            with scope:
                base = tiny_classifier()
                model = kt.regularizers.apply_l2sp(base, alpha=alpha, beta=0.05)
                model.compile(keras.optimizers.SGD(0.05), "sparse_categorical_crossentropy", jit_compile=False)
            rng = np.random.default_rng(0)
            for variable in base.trainable_weights + base.backbone.weights:
                if "moving" not in variable.path:
                    variable.assign(variable.numpy() + 0.1 * rng.normal(size=variable.shape).astype("float32"))
            history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0,
                                callbacks=[kt.callbacks.FreezeSchedule({1: "all"})])
            return [v.numpy() for v in model.weights], history.history["loss"]

        import contextlib
        mirrored, mirrored_loss = train(strategy.scope(), 2.0)
        single, single_loss = train(contextlib.nullcontext(), 2.0)
        plain, plain_loss = train(contextlib.nullcontext(), 0.0)
        worst = max(float(np.abs(a - b).max()) for a, b in zip(mirrored, single))
        print("max difference", worst, mirrored_loss, single_loss, plain_loss)
        assert worst < 1e-4, worst
        assert np.allclose(mirrored_loss, single_loss, atol=1e-4)
        # The penalty is in the reported loss, once (not once per replica).
        assert single_loss[1] > plain_loss[1] + 1e-3
        assert max(float(np.abs(a - b).max()) for a, b in zip(single, plain)) > 1e-4
        print("OK")
        """
    )


REGULARIZERS = """
from tests.regularizers.nets import X as x, Y as y, trunk_and_heads
# SGD: Adam divides the near-zero gradients of a term that starts at 0 (LwF's KL) by their own size,
# which turns float rounding into whole steps.
sgd = lambda: {"optimizer": keras.optimizers.SGD(0.5), "loss": "sparse_categorical_crossentropy",
               "metrics": ["accuracy"]}
fit = lambda m: m.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)

def lwf():
    source, target = trunk_and_heads()
    return kt.models.LwFModel(target, source, alpha=2.0)

def co_tuning():
    source, target = trunk_and_heads()
    relationship = kt.regularizers.category_relationship(source, x, y)
    return kt.models.CoTuningModel(target, source.layers[-1], relationship, weight=2.0)

def delta():
    _, target = trunk_and_heads()
    return kt.models.DELTAModel(target, alpha=1.0, beta=0.01, attention=np.linspace(1, 2, 8) / np.linspace(1, 2, 8).sum())

# Per-example terms averaged over the batch: the same weights on two replicas as on one device.
for name, make in [("lwf", lwf), ("co_tuning", co_tuning), ("delta", delta)]:
    parity(name, make, fit, sgd)

# BSS is a property of the batch's feature matrix (its singular values): each replica shrinks the
# spectrum of its own share of the batch, as BatchNorm normalises with per-replica statistics.
with strategy.scope():
    _, target = trunk_and_heads()
    bss = kt.models.BSSModel(target, eta=0.1, k=1)
    bss.compile(**sgd(), jit_compile=False)
history = fit(bss).history
assert np.isfinite(history["loss"]).all() and min(history["bss_penalty"]) > 0, history
print("OK")
"""


@pytest.mark.large  # slow (10-25 s); the feature keeps default tests
def test_lwf_co_tuning_and_delta_match_a_single_device_run():
    from tests.distributed.test_mirrored_parity import HELPERS

    run_distributed(HELPERS + REGULARIZERS)
