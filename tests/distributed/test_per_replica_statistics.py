"""Which statistics are computed per replica and which over the global batch.

`docs/distributed.md` has the table; each row is checked here on two logical
CPU devices, with batches whose two halves (one per replica) differ, so a
per-replica statistic and a global one give different numbers. The steps use
`SGD(0.0)`: the logged values are those of the initial weights, which the
test recomputes on one device.
"""

import textwrap

from tests.distributed import run_distributed


def test_per_replica_and_gathered_statistics():
    run_distributed(
        textwrap.dedent(
            """
            def one_step(model, data, **kwargs):
                return {k: v[0] for k, v in model.fit(data, epochs=1, verbose=0, **kwargs).history.items()}

            rng = np.random.default_rng(0)
            # Two halves with different statistics: replica 0 gets rows 0-3, replica 1 rows 4-7.
            x = np.concatenate([rng.normal(0.0, 1.0, (4, 3)), rng.normal(3.0, 2.0, (4, 3))]).astype("float32")
            halves = (x[:4], x[4:])

            # 1. BatchNormalization (training mode): each replica normalises with its own batch
            #    statistics and updates its own copy of the moving statistics (Keras creates them
            #    with aggregation "none"): the copies diverge, `get_weights`/`save` return replica
            #    0's. `synchronized=True` (also set on an existing layer, before `fit`) uses the
            #    global batch and keeps the copies equal.
            def copies(variable):
                return [t.numpy() for t in strategy.experimental_local_results(variable.value)]

            for synchronized in (False, True):
                with strategy.scope():
                    bn = keras.layers.BatchNormalization(momentum=0.5)
                    model = keras.Sequential([keras.Input((3,)), bn])
                    model.compile(keras.optimizers.SGD(0.0), "mse", jit_compile=False)
                bn.synchronized = synchronized  # the docs' recipe for existing backbones
                model.fit(x, np.zeros_like(x), batch_size=8, epochs=1, shuffle=False, verbose=0)
                means, variances = copies(bn.moving_mean), copies(bn.moving_variance)
                if synchronized:
                    for mean, variance in zip(means, variances):
                        np.testing.assert_allclose(mean, 0.5 * x.mean(axis=0), rtol=1e-5)
                        np.testing.assert_allclose(variance, 0.5 + 0.5 * x.var(axis=0), rtol=1e-5)
                else:
                    for mean, variance, half in zip(means, variances, halves):
                        np.testing.assert_allclose(mean, 0.5 * half.mean(axis=0), rtol=1e-5, atol=1e-7)
                        np.testing.assert_allclose(variance, 0.5 + 0.5 * half.var(axis=0), rtol=1e-5)
                    np.testing.assert_allclose(bn.moving_mean.numpy(), means[0])
                    assert np.abs(means[0] - means[1]).min() > 0.5  # the copies diverged
                print("batchnorm synchronized" if synchronized else "batchnorm", means, variances)

            # 2. MMD and CORAL: computed on the features of the global batch (gathered).
            xs, ys = x, np.arange(8) % 3
            xt = np.concatenate([rng.normal(1.0, 1.0, (4, 3)), rng.normal(-2.0, 0.5, (4, 3))]).astype("float32")
            data = tf.data.Dataset.from_tensors(({"source": xs, "target": xt}, ys))
            for loss in (kt.losses.MMD(), kt.losses.CORAL()):
                keras.utils.set_random_seed(0)
                with strategy.scope():
                    features = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh")])
                    classifier = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
                    model = kt.models.DomainAdaptationModel(features, classifier, loss)
                    model.compile(keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy", jit_compile=False)
                logs = one_step(model, data)
                fs, ft = features(xs).numpy(), features(xt).numpy()
                global_value = float(loss(fs, ft))
                per_replica_mean = float(np.mean([loss(fs[i:i + 4], ft[i:i + 4]) for i in (0, 4)]))
                print(loss.name, logs["alignment_loss"], "global", global_value, "mean of replicas", per_replica_mean)
                assert abs(logs["alignment_loss"] - global_value) < 1e-5 * max(1.0, global_value), logs
                assert abs(per_replica_mean - global_value) > 0.1 * global_value

            # 3. Adversarial heads: the domain loss (with CDAN+E's entropy weights) and the
            #    domain accuracy are normalised over the global batch, also when the replicas
            #    get different numbers of examples (a last batch of 5: 3 + 2; Keras needs the
            #    first batch split evenly to build the model).
            sizes = (8, 5)
            data = tf.data.Dataset.from_tensors(({"source": xs, "target": xt}, ys)).concatenate(
                tf.data.Dataset.from_tensors(({"source": xs[:5], "target": xt[:5]}, ys[:5])))

            def bce(logits, labels):
                return np.log1p(np.exp(-np.abs(logits))) + np.maximum(logits, 0) - logits * labels

            def by_domain(values, weights, is_source, r):  # r: the rows of one replica (or all)
                return 0.5 * sum((weights * values)[r & d].sum() / weights[r & d].sum()
                                 for d in (is_source, ~is_source))

            for make_head in (kt.layers.DomainAdversarialHead, kt.layers.ConditionalDomainAdversarialHead):
                keras.utils.set_random_seed(0)
                with strategy.scope():
                    head = make_head((4,))
                    features = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh")])
                    classifier = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
                    model = kt.models.DomainAdaptationModel(features, classifier, head)
                    model.compile(keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy", jit_compile=False)
                logs = one_step(model, data)
                conditional = isinstance(head, kt.layers.ConditionalDomainAdversarialHead)
                steps = {"global": [], "accuracy": [], "per_replica": []}
                for n in sizes:
                    f = features(np.concatenate([xs[:n], xt[:n]])).numpy()
                    p = classifier(f).numpy()
                    logits = np.asarray(head([f, p]) if conditional else head(f)).reshape(-1)
                    is_source = np.arange(2 * n) < n
                    w = np.asarray(head.entropy_weights(p)) if conditional else np.ones(2 * n)
                    losses, everything = bce(logits, is_source), np.ones(2 * n, bool)
                    steps["global"].append(by_domain(losses, w, is_source, everything))
                    correct = ((logits > 0) == is_source).astype(float)
                    steps["accuracy"].append(by_domain(correct, np.ones(2 * n), is_source, everything))
                    first = np.arange(2 * n) % n < (n + 1) // 2  # replica 0: the first half of each domain
                    steps["per_replica"].append(np.mean([by_domain(losses, w, is_source, r) for r in (first, ~first)]))
                expected = {k: float(np.mean(v)) for k, v in steps.items()}
                print(head.name, logs, expected)
                assert abs(logs["alignment_loss"] - expected["global"]) < 1e-5, (logs, expected)
                assert abs(logs["domain_accuracy"] - expected["accuracy"]) < 1e-6, (logs, expected)
                assert abs(expected["per_replica"] - expected["global"]) > 1e-4, expected

            # 4. FixMatch: the confidence threshold applies per image; the logged mask rate and
            #    unlabelled loss are those of the global batch (equal-size halves).
            from tests.generative import tiny
            images, unlabeled = tiny.images(8), tiny.images(8, seed=1)
            with strategy.scope():
                classifier = tiny.classifier(2)
            confidence = classifier.predict(unlabeled, verbose=0).max(axis=-1)
            threshold = float(np.sort(confidence)[3])  # 5 of the 8 images pass
            with strategy.scope():
                fixmatch = kt.ssl.FixMatch(classifier, weak_augmentation=None, strong_augmentation=None,
                                           threshold=threshold)
                fixmatch.compile(keras.optimizers.SGD(0.0), jit_compile=False)
            logs = one_step(fixmatch, tf.data.Dataset.from_tensors(((images, unlabeled), np.arange(8) % 2)))
            masked = confidence >= threshold
            print("fixmatch", logs, confidence)
            assert 0 < masked.mean() < 1
            assert abs(logs["mask_rate"] - masked.mean()) < 1e-6, (logs, masked)
            assert abs(logs["unlabeled_loss"] - np.mean(-np.log(confidence) * masked)) < 1e-5, logs
            print("OK")
            """
        )
    )
