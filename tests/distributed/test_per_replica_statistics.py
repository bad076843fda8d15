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

            # 1. BatchNormalization (training mode): per-replica batch statistics, moving averages
            #    updated with the mean over replicas; `synchronized=True` uses the global batch.
            for synchronized in (False, True):
                with strategy.scope():
                    bn = keras.layers.BatchNormalization(momentum=0.5, synchronized=synchronized)
                    model = keras.Sequential([keras.Input((3,)), bn])
                    model.compile(keras.optimizers.SGD(0.0), "mse", jit_compile=False)
                model.fit(x, np.zeros_like(x), batch_size=8, epochs=1, shuffle=False, verbose=0)
                mean, variance = bn.moving_mean.numpy(), bn.moving_variance.numpy()
                per_replica_variance = 0.5 + 0.5 * np.mean([h.var(axis=0) for h in halves], axis=0)
                global_variance = 0.5 + 0.5 * x.var(axis=0)
                np.testing.assert_allclose(mean, 0.5 * x.mean(axis=0), rtol=1e-5)  # equal-size halves
                expected = global_variance if synchronized else per_replica_variance
                np.testing.assert_allclose(variance, expected, rtol=1e-4)
                assert np.abs(per_replica_variance - global_variance).min() > 0.1
                print("batchnorm synchronized" if synchronized else "batchnorm", variance)

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
            #    get different numbers of examples (a batch of 5: 3 + 2).
            data = tf.data.Dataset.from_tensors(({"source": xs[:5], "target": xt[:5]}, ys[:5]))
            for head in (kt.layers.DomainAdversarialHead((4,)), kt.layers.ConditionalDomainAdversarialHead((4,))):
                keras.utils.set_random_seed(0)
                with strategy.scope():
                    features = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh")])
                    classifier = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
                    model = kt.models.DomainAdaptationModel(features, classifier, head)
                    model.compile(keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy", jit_compile=False)
                logs = one_step(model, data)
                f = features(np.concatenate([xs[:5], xt[:5]])).numpy()
                p = classifier(f).numpy()
                conditional = isinstance(head, kt.layers.ConditionalDomainAdversarialHead)
                logits = np.asarray(head([f, p]) if conditional else head(f)).reshape(-1)
                is_source = np.arange(10) < 5
                w = np.asarray(head.entropy_weights(p)) if conditional else np.ones(10)
                bce = np.log1p(np.exp(-np.abs(logits))) + np.maximum(logits, 0) - logits * is_source
                def by_domain(values, weights, rows):
                    return 0.5 * sum((weights * values)[r].sum() / weights[r].sum() for r in rows)
                global_loss = by_domain(bce, w, [is_source, ~is_source])
                global_accuracy = by_domain(((logits > 0) == is_source).astype(float), np.ones(10),
                                            [is_source, ~is_source])
                replica_rows = [np.isin(np.arange(10), rows) for rows in ([0, 1, 2, 5, 6, 7], [3, 4, 8, 9])]
                per_replica_loss = np.mean([by_domain(bce, w, [is_source & r, ~is_source & r]) for r in replica_rows])
                print(head.name, logs, "global", global_loss, global_accuracy, "mean of replicas", per_replica_loss)
                assert abs(logs["alignment_loss"] - global_loss) < 1e-5, (logs, global_loss)
                assert abs(logs["domain_accuracy"] - global_accuracy) < 1e-6, (logs, global_accuracy)
                assert abs(per_replica_loss - global_loss) > 1e-5

            # 4. FixMatch: the confidence threshold applies per image; the logged mask rate and
            #    unlabelled loss are those of the global batch (equal-size halves).
            from tests.generative import tiny
            images, unlabeled = tiny.images(8), tiny.images(8, seed=1)
            with strategy.scope():
                classifier = tiny.classifier(2)
                fixmatch = kt.ssl.FixMatch(classifier, weak_augmentation=None, strong_augmentation=None, threshold=0.52)
                fixmatch.compile(keras.optimizers.SGD(0.0), jit_compile=False)
            logs = one_step(fixmatch, tf.data.Dataset.from_tensors(((images, unlabeled), np.arange(8) % 2)))
            confidence = classifier.predict(unlabeled, verbose=0).max(axis=-1)
            masked = confidence >= 0.52
            print("fixmatch", logs, confidence)
            assert 0 < masked.mean() < 1
            assert abs(logs["mask_rate"] - masked.mean()) < 1e-6, (logs, masked)
            assert abs(logs["unlabeled_loss"] - np.mean(-np.log(confidence) * masked)) < 1e-5, logs
            print("OK")
            """
        )
    )
