"""FreezeSchedule and DiscriminativeLR inside MirroredStrategy (two logical CPUs)."""

from tests.distributed import run_distributed


def test_freeze_schedule_and_discriminative_lr_match_a_single_device_run():
    run_distributed(
        """
        from tests.test_case import tiny_classifier, tiny_data
        x, y = tiny_data(n=16)

        def train(scope):
            keras.utils.set_random_seed(11)
            with scope:
                model = tiny_classifier()
                model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", jit_compile=False)
            callbacks = [kt.callbacks.FreezeSchedule({1: ["block3_conv"], 2: "all"}),
                         kt.callbacks.DiscriminativeLR(decay=0.5)]
            before = model.backbone.get_layer("block1_conv").kernel.numpy().copy()
            history = model.fit(x, y, batch_size=8, epochs=3, shuffle=False, callbacks=callbacks, verbose=0)
            assert history.history["freeze_stage"] == [0.0, 1.0, 2.0], history.history
            assert not np.array_equal(model.backbone.get_layer("block1_conv").kernel.numpy(), before)
            return [v.numpy() for v in model.weights], model

        import contextlib
        mirrored, model = train(strategy.scope())
        assert isinstance(model.optimizer, kt.optimizers.GroupOptimizer)
        single, _ = train(contextlib.nullcontext())
        worst = max(float(np.abs(a - b).max()) for a, b in zip(mirrored, single))
        print("max difference", worst)
        assert worst < 1e-4, worst
        print("OK")
        """
    )
