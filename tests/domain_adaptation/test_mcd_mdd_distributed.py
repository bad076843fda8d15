"""MCD and MDD inside MirroredStrategy over two logical CPUs train as one device (in a subprocess)."""

from tests.domain_adaptation.two_cpus import run_on_two_cpus

SCRIPT = """
    rng = np.random.default_rng(0)
    xs, ys = rng.normal(size=(32, 5)).astype("float32"), rng.integers(0, 3, 32)
    weights = rng.uniform(0.5, 2.0, 32).astype("float32")
    xt = rng.normal(1.0, 1.0, size=(32, 5)).astype("float32")
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])

    def train(kind, distributed):
        keras.utils.set_random_seed(0)
        scope = strategy.scope() if distributed else tf.distribute.get_strategy().scope()
        with scope:
            features = keras.Sequential([keras.Input((5,)), keras.layers.Dense(6, activation="tanh")])
            classifier = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3, activation="softmax")])
            if kind == "mcd":
                model = kt.models.MCDModel(features, classifier, generator_steps=2)
            else:
                model = kt.models.DomainAdaptationModel(features, classifier, kt.layers.MarginDisparityHead((4,)))
            model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
        data = kt.data.domain_adaptation_dataset(source=(xs, ys, weights), target=xt, batch_size=8, shuffle=False)
        history = model.fit(data, epochs=2, verbose=0).history
        return model, history

    out = {"replicas": strategy.num_replicas_in_sync}
    for kind in ("mcd", "mdd"):
        single, h1 = train(kind, False)
        mirrored, h2 = train(kind, True)
        out[kind] = {
            "max_weight_difference": max(float(np.max(np.abs(a.numpy() - b.numpy())))
                                         for a, b in zip(single.weights, mirrored.weights)),
            "logs": {k: [h1[k], h2[k]] for k in h1},
            "iterations": [int(single.optimizer.iterations.numpy()), int(mirrored.optimizer.iterations.numpy())],
        }
    print("RESULT" + json.dumps(out))
"""


def test_mcd_and_mdd_under_mirrored_strategy_match_one_device():
    out = run_on_two_cpus(SCRIPT)
    assert out["replicas"] == 2
    for kind in ("mcd", "mdd"):
        # each replica holds half of every source and target batch; losses scaled per replica
        assert out[kind]["max_weight_difference"] < 1e-5, kind
        for key, (single, mirrored) in out[kind]["logs"].items():
            assert abs(single[-1] - mirrored[-1]) <= 1e-5 * max(1.0, abs(single[-1])), (kind, key, single, mirrored)
    assert out["mcd"]["iterations"] == [8, 8]  # batches, not the 4 updates of each
