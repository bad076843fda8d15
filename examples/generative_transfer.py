"""Generative transfer in a few minutes, offline: PP + P-SSL on Fashion-MNIST.

The source task (classes T-shirt, trouser, pullover, sneaker, bag) leaves a
classifier and a conditional generator behind; the target task (dress, coat,
shirt, sandal, ankle boot) has 10 labelled images per class and a different
network. The source data are not used by the target task.

    python examples/generative_transfer.py           # a few minutes on 2 CPU cores
    python examples/generative_transfer.py --quick   # under a minute, smoke test

The numbers this prints come from one seed and short training: see
docs/generative_transfer.md for the benchmark over paired seeds.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_transfer as kt  # noqa: E402

SOURCE, TARGET = (0, 1, 2, 7, 8), (3, 4, 6, 5, 9)


def subset(x, y, classes):
    keep = np.isin(y, classes)
    relabel = np.zeros(10, "int64")
    relabel[list(classes)] = np.arange(len(classes))
    return x[keep][..., None].astype("float32"), relabel[y[keep]]


def target_network(num_classes):
    """A different architecture from the source classifier: 4 convolutions."""
    conv = lambda filters: keras.layers.Conv2D(filters, 3, padding="same", activation="relu")  # noqa: E731
    return keras.Sequential([
        keras.Input((28, 28, 1)), keras.layers.Rescaling(1 / 255.0),
        conv(16), conv(16), keras.layers.MaxPooling2D(), conv(32), conv(32), keras.layers.MaxPooling2D(),
        keras.layers.Flatten(), keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(num_classes, activation="softmax"),
    ])


def main(quick=False):
    keras.utils.set_random_seed(0)
    (x, y), (x_test, y_test) = kt.data.load_fashion_mnist()
    xs, ys = subset(x, y, SOURCE)
    xt, yt = subset(x, y, TARGET)
    xt_test, yt_test = subset(x_test, y_test, TARGET)
    if quick:
        xs, ys, xt_test, yt_test = xs[:2000], ys[:2000], xt_test[:500], yt_test[:500]
    epochs, steps = (1, 20) if quick else (8, 400)

    # --- The source side: a classifier and a conditional generator (then the data are gone).
    classifier = keras.Sequential([
        keras.Input((28, 28, 1)), keras.layers.Rescaling(1 / 255.0),
        keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Flatten(), keras.layers.Dense(128, activation="relu"), keras.layers.Dense(5, activation="softmax"),
    ])
    classifier.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    classifier.fit(xs, ys, batch_size=128, epochs=max(1, epochs // 2), verbose=0)
    generator = kt.generative.ConditionalVAE((28, 28, 1), num_classes=5, beta=2.0, seed=0)
    generator.compile(optimizer="adam")
    generator.fit(xs, ys, batch_size=128, epochs=epochs, verbose=0)
    labels = np.arange(1000) % 5
    recognised = np.mean(classifier.predict(generator.generate(labels, seed=0), verbose=0).argmax(-1) == labels)
    print(f"source classifier recognises {100 * recognised:.1f}% of the generator's samples")

    # --- The target side: 10 labelled images per class.
    rng = np.random.default_rng(0)
    index = np.concatenate([rng.choice(np.flatnonzero(yt == k), 10, replace=False) for k in range(5)])
    x_l, y_l = xt[index], yt[index]

    # Scratch baseline.
    scratch = target_network(5)
    scratch.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    scratch.fit(x_l, y_l, batch_size=25, epochs=steps // 2, verbose=0)

    # 1. Pseudo pre-training: the target network learns the source classes from G_s(z, y).
    pretrained = target_network(5)
    pretrainer = kt.generative.PseudoPretrainer(pretrained, generator, seed=0)
    pretrainer.compile(optimizer="adam", metrics=["accuracy"])
    pretrainer.fit(batch_size=64, steps_per_epoch=steps, epochs=2, verbose=0)
    network = kt.generative.replace_head(pretrained, 5)

    # 2. Pseudo semi-supervised learning: FixMatch whose unlabelled images are G_s(z, C_s(x_t)).
    pseudo = kt.layers.PseudoSSLGenerator(generator, classifier, seed=0)
    fixmatch = kt.ssl.FixMatch(network, pseudo_generator=pseudo, unlabeled_ratio=7, seed=0)
    fixmatch.compile(optimizer="adam", metrics=["accuracy"])
    fixmatch.fit(x_l, y_l, batch_size=25, epochs=steps // 2, verbose=0)

    for name, model in (("scratch", scratch), ("PP + P-SSL", fixmatch)):  # FixMatch evaluates its network
        accuracy = model.evaluate(xt_test, yt_test, verbose=0, return_dict=True)["accuracy"]
        print(f"{name}: {100 * accuracy:.1f}% target test accuracy (one seed)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    main(parser.parse_args().quick)
