"""The transfer task shared by the few-shot and L2-SP benchmarks.

Fashion-MNIST (offline): a small CNN (`keras_transfer.cli.demo.small_cnn`,
the demo's backbone) is pretrained on classes 0-4 of the training split (the
source task); classes 5-9 are the target task, never seen by the source
model. Target training-split images give labelled shots and a validation
pool (for choosing hyperparameters); target test-split images give the
reported numbers.
"""

import time

import numpy as np


def load():
    """`(x_train, y_train), (x_test, y_test)` as float32 images `(n, 28, 28, 1)` in [0, 255]."""
    import keras_transfer as kt

    (x_train, y_train), (x_test, y_test) = kt.data.load_fashion_mnist()
    return (x_train[..., None].astype("float32"), y_train.astype("int64")), (
        x_test[..., None].astype("float32"),
        y_test.astype("int64"),
    )


def pretrain_source(x_train, y_train, *, seed, epochs, limit=None, log=print):
    """A `TransferClassifier` (small CNN + head) trained on classes 0-4."""
    import keras

    import keras_transfer as kt
    from keras_transfer.cli.demo import small_cnn

    source = y_train < 5
    x, y = x_train[source], y_train[source]
    if limit:
        x, y = x[:limit], y[:limit]
    start = time.time()
    keras.utils.set_random_seed(seed)
    model = kt.build_classifier(small_cnn(), 5, input_shape=(28, 28, 1), preprocessing="unit", freeze=False)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=128, verbose=0)
    log(f"  source model (seed {seed}): {len(x):,} images of classes 0-4, {epochs} epochs, {time.time() - start:.0f} s")
    return model


def split_target(x_train, y_train, *, validation_per_class, seed):
    """Target (classes 5-9, relabelled 0-4) training images: a validation pool
    of `validation_per_class` images per class and the rest (for shots)."""
    rng = np.random.default_rng(10_000 + seed)
    target = np.flatnonzero(y_train >= 5)
    labels = y_train[target] - 5
    validation = np.concatenate(
        [rng.choice(target[labels == c], validation_per_class, replace=False) for c in range(5)]
    )
    rest = np.setdiff1d(target, validation)
    return (x_train[validation], y_train[validation] - 5), (x_train[rest], y_train[rest] - 5)


def target_test(x_test, y_test):
    keep = y_test >= 5
    return x_test[keep], y_test[keep] - 5
