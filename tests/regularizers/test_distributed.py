"""L2-SP inside MirroredStrategy (two logical CPUs) matches a single-device run."""

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
