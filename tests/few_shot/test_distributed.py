"""Few-shot heads inside MirroredStrategy (two logical CPUs), compiled without XLA (XLA cannot place per-replica variables of logical CPU devices; jit is tested on one device)."""

import pytest

from tests.distributed import run_distributed


@pytest.mark.large  # a subprocess with two logical CPUs
def test_heads_fit_and_predict_under_mirrored_strategy_like_on_one_device():
    run_distributed(
        """
        rng = np.random.default_rng(0)
        y = np.repeat(np.arange(3), 8)
        x = (rng.normal(size=(24, 6)) + 3.0 * np.eye(3, 6)[y]).astype("float32")

        def train(scope, head_fn):
            keras.utils.set_random_seed(5)
            with scope:
                inputs = keras.Input((6,))
                features = keras.layers.Dense(5, name="features")(inputs)
                head = head_fn()
                model = keras.Model(inputs, head(features))
                model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy", jit_compile=False)
            if isinstance(head, kt.few_shot.PrototypeHead):
                embedder = keras.Model(inputs, features)
                head.fit_prototypes(embedder.predict(x, verbose=0), y)
                model.get_layer("features").trainable = False
                model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy", jit_compile=False)
            history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
            assert all(np.isfinite(history.history["loss"]))
            return model.predict(x, verbose=0), [v.numpy() for v in model.weights]

        import contextlib
        heads = {
            "prototype": lambda: kt.few_shot.PrototypeHead(3),
            "cosine": lambda: kt.few_shot.CosineClassifierHead(3),
            "zero_shot": lambda: kt.few_shot.ZeroShotHead(np.eye(3, 4), projection=True, learn_scale=True),
        }
        for name, head_fn in heads.items():
            mirrored, mirrored_weights = train(strategy.scope(), head_fn)
            single, single_weights = train(contextlib.nullcontext(), head_fn)
            worst = max(float(np.abs(a - b).max()) for a, b in zip(mirrored_weights, single_weights))
            assert worst < 1e-4, (name, worst)
            assert np.abs(mirrored - single).max() < 1e-4, name
            print(name, "max weight difference", worst)
        print("OK")
        """
    )
