"""Cached feature extraction vs a naive frozen `fit`.

A frozen VGG16 (`build_classifier("vgg16", 10, input_shape=(28, 28, 1),
adapt_input=True)`: grayscale tiled to RGB and resized to 32x32 inside the
model) with a softmax head, trained for 10 epochs (batch 32, Adam) on the first
5,000 Fashion-MNIST training images, tested on the first 2,000 test images.
Baseline: `model.fit` (the backbone runs over every image every epoch).
Candidate: `keras_transfer.fit_classifier` (backbone once, then the head on
cached features; the end-to-end time includes that extraction). Both start
from the same weights and the same shuffling seed; with several repeats they
alternate which goes first (the full run does one repeat: about 20 minutes of
naive training on a shared 2-core machine). The backbone has random weights (`weights=None`: the
ImageNet file cannot be downloaded here); timing does not depend on the
weights, and the accuracy row checks that both paths learn the same head
(the convolutions are He-initialised so that the random features carry signal).
"""

import keras
import numpy as np

import keras_transfer as kt
from benchmarks.table import Row
from benchmarks.table import median
from benchmarks.table import spread
from benchmarks.timing import EpochTimer
from benchmarks.timing import Stopwatch

FULL = dict(train=5000, test=2000, epochs=10, repeats=1)
QUICK = dict(train=256, test=256, epochs=3, repeats=1)
BATCH = 32


def _data(sizes):
    (x_train, y_train), (x_test, y_test) = kt.data.load_fashion_mnist()
    return (
        x_train[: sizes["train"], ..., None].astype("float32"),
        y_train[: sizes["train"]].astype("int64"),
        x_test[: sizes["test"], ..., None].astype("float32"),
        y_test[: sizes["test"]].astype("int64"),
    )


def _model(seed):
    keras.utils.set_random_seed(seed)
    model = kt.build_classifier("vgg16", 10, weights=None, input_shape=(28, 28, 1), adapt_input=True)
    # Variance-preserving random convolutions (He): Keras's default Glorot
    # init shrinks the signal ~2x per ReLU layer, leaving near-zero features
    # after 13 layers that a head cannot learn from in a few epochs.
    for index, layer in enumerate(model.backbone.layers):
        if isinstance(layer, keras.layers.Conv2D):
            layer.kernel.assign(keras.initializers.HeNormal(seed=seed + index)(layer.kernel.shape))
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _one(mode, data, epochs, seed):
    x, y, x_test, y_test = data
    model = _model(seed)
    timer = EpochTimer()
    keras.utils.set_random_seed(seed + 1)  # same shuffling for both paths
    with Stopwatch() as watch:
        if mode == "naive":
            model.fit(x, y, epochs=epochs, batch_size=BATCH, verbose=0, callbacks=[timer])
            extraction = 0.0
        else:
            history = kt.fit_classifier(model, x, y, epochs=epochs, batch_size=BATCH, verbose=0, callbacks=[timer], cache_features=True)
            extraction = history.feature_cache["extraction_seconds"]
    accuracy = model.evaluate(x_test, y_test, batch_size=256, verbose=0)[1]
    keras.backend.clear_session()
    return dict(epochs=timer.seconds, total=watch.seconds, accuracy=100.0 * accuracy, extraction=extraction)


def run(quick=False):
    sizes = QUICK if quick else FULL
    data = _data(sizes)
    results = {"naive": [], "cached": []}
    for repeat in range(sizes["repeats"]):
        order = ("naive", "cached") if repeat % 2 == 0 else ("cached", "naive")
        for mode in order:
            results[mode].append(_one(mode, data, sizes["epochs"], seed=100 + repeat))
            print(f"  repeat {repeat} {mode}: total {results[mode][-1]['total']:.1f} s, "
                  f"accuracy {results[mode][-1]['accuracy']:.2f}%", flush=True)

    naive, cached = results["naive"], results["cached"]
    later_naive = [s for r in naive for s in r["epochs"][1:]]
    later_cached = [s for r in cached for s in r["epochs"][1:]]
    epochs, n = sizes["epochs"], sizes["train"]
    repeats = f"{sizes['repeats']} repeat(s)" + (", alternating which runs first" if sizes["repeats"] > 1 else ", plain fit first")
    baseline, candidate = "model.fit (frozen)", "fit_classifier (cached)"
    return [
        Row(
            "cached_features", f"epoch time, epochs 2-{epochs} (median), VGG16 32x32, {n} images",
            baseline, candidate, median(later_naive), median(later_cached), "s",
            note=f"{repeats}; ranges {spread(later_naive)} / {spread(later_cached)} s",
        ),
        Row(
            "cached_features", f"{epochs}-epoch run end to end (mean), extraction included",
            baseline, candidate, float(np.mean([r["total"] for r in naive])), float(np.mean([r["total"] for r in cached])), "s",
            note=f"extraction (one backbone pass): {fmt_list([r['extraction'] for r in cached])} s; first naive epoch: {fmt_list([r['epochs'][0] for r in naive])} s",
        ),
        Row(
            "cached_features", f"test accuracy after {epochs} epochs (mean), {sizes['test']} test images",
            baseline, candidate, float(np.mean([r["accuracy"] for r in naive])), float(np.mean([r["accuracy"] for r in cached])), "%",
            kind="score", note="per repeat: " + ", ".join(f"{a['accuracy']:.2f}/{b['accuracy']:.2f}" for a, b in zip(naive, cached)),
        ),
    ]


def fmt_list(values):
    return ", ".join(f"{v:.2f}" for v in values)
