"""Fine-tuning with gradual unfreezing and discriminative learning rates, offline.

A small CNN pretrained on Fashion-MNIST classes 0-4 is transferred to classes
5-9 with 5 labelled images per class, three ways: feature extraction, full
fine-tuning, and `FreezeSchedule` + `DiscriminativeLR` (the `fine_tune`
recipe). Then `lr_find` suggests a learning rate for the head.

    python examples/fine_tuning.py [--quick]
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_transfer as kt  # noqa: E402
from keras_transfer.cli.demo import small_cnn  # noqa: E402


def main(quick=False):
    (x, y), (x_test, y_test) = kt.data.load_fashion_mnist()
    x, x_test = x[..., None].astype("float32"), x_test[..., None].astype("float32")
    source = y < 5
    limit = 3000 if quick else None
    keras.utils.set_random_seed(0)
    pretrained = kt.build_classifier(small_cnn(), 5, input_shape=(28, 28, 1), preprocessing="unit", freeze=False)
    pretrained.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    pretrained.fit(x[source][:limit], y[source][:limit], epochs=1, batch_size=128, verbose=0)

    rng = np.random.default_rng(0)
    target = np.flatnonzero(y >= 5)
    few = np.concatenate([rng.choice(target[y[target] == c], 5, replace=False) for c in range(5, 10)])
    x_few, y_few = x[few], y[few] - 5
    test = y_test >= 5
    x_eval, y_eval = x_test[test][: 500 if quick else None], y_test[test][: 500 if quick else None] - 5
    steps = 10 if quick else 60

    def new_model(freeze):
        keras.utils.set_random_seed(1)
        return kt.build_classifier(small_cnn(), 5, input_shape=(28, 28, 1), preprocessing="unit",
                                   weights=pretrained.backbone, freeze=freeze)

    results = {}
    for name, freeze in (("feature extraction", True), ("full fine-tuning", False)):
        model = new_model(freeze)
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x_few, y_few, batch_size=25, epochs=steps, verbose=0)
        results[name] = model.evaluate(x_eval, y_eval, verbose=0)[1]

    model = new_model(True)
    kt.describe_groups(model)
    kt.fine_tune(model, x_few, y_few, epochs=steps - steps // 4, freeze_epochs=steps // 4, base_lr=1e-3,
                 lr_mult=10, batch_size=25, verbose=0)
    results["fine_tune recipe (gradual + discriminative LR)"] = model.evaluate(x_eval, y_eval, verbose=0)[1]

    for name, accuracy in results.items():
        print(f"{name:<50} {accuracy:.3f}")
    finder = kt.lr_find(model, x_few, y_few, num_steps=20 if quick else 100, batch_size=25)
    print(f"lr_find suggestion for further training: {finder.suggestion:.2g}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small, fast run (for tests)")
    main(parser.parse_args().quick)
