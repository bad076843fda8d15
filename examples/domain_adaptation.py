"""Domain adaptation in `model.fit`: printed font digits -> handwritten UCI digits.

The source domain is digits rendered from the fonts installed on the machine (labelled);
the target domain is the UCI handwritten digits (unlabelled during training). A small CNN
trained on the source alone is compared with the same CNN trained with DANN
(`DomainAdversarialHead` + the `GradientReversalSchedule` ramp). 300 labelled target images
serve as validation data (to pick the epoch); the rest is the test set. Offline, a few
minutes on two CPU cores:

    python examples/domain_adaptation.py            # ~3 minutes
    python examples/domain_adaptation.py --quick    # seconds (smoke test)
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_transfer as kt  # noqa: E402


def standardize(x):
    x = x.astype("float32")[..., None]
    return (x - x.mean(axis=(1, 2, 3), keepdims=True)) / (x.std(axis=(1, 2, 3), keepdims=True) + 1e-3)


def build_parts():
    features = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(32, 3, padding="same"), keras.layers.BatchNormalization(), keras.layers.ReLU(),
        keras.layers.Conv2D(32, 3, padding="same"), keras.layers.BatchNormalization(), keras.layers.ReLU(),
        keras.layers.MaxPooling2D(), keras.layers.Flatten(),
        keras.layers.Dense(64), keras.layers.BatchNormalization(), keras.layers.ReLU(),
    ], name="features")
    classifier = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10, activation="softmax")], name="classifier")
    return features, classifier


class BestOnValidation(keras.callbacks.Callback):
    """Keeps the weights of the epoch with the best validation accuracy."""

    def __init__(self):
        super().__init__()
        self.best, self.weights = -1.0, None

    def on_epoch_end(self, epoch, logs=None):
        if logs["val_accuracy"] > self.best:
            self.best, self.weights = logs["val_accuracy"], self.model.get_weights()

    def on_train_end(self, logs=None):
        self.model.set_weights(self.weights)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    epochs, steps = (2, 10) if args.quick else (8, 100)

    x_source, y_source = kt.data.render_font_digits(50 if args.quick else 400, seed=args.seed)
    x_uci, y_uci = kt.data.load_uci_digits()
    order = np.random.default_rng(0).permutation(len(x_uci))
    target, val, test = order[:1000], order[1000:1300], order[1300:]
    x_source, x_uci = standardize(x_source), standardize(x_uci)
    optimizer = lambda: keras.optimizers.SGD(0.01, momentum=0.9)  # noqa: E731

    # Source only: the plain Keras baseline.
    features, classifier = build_parts()
    baseline = keras.Sequential([features, classifier])
    baseline.compile(optimizer(), "sparse_categorical_crossentropy", metrics=["accuracy"])
    source = tf.data.Dataset.from_tensor_slices((x_source, y_source)).shuffle(len(y_source), seed=args.seed)
    baseline.fit(source.repeat().batch(64), epochs=epochs, steps_per_epoch=steps, verbose=0,
                 validation_data=(x_uci[val], y_uci[val]), callbacks=[BestOnValidation()])
    _, source_only = baseline.evaluate(x_uci[test], y_uci[test], verbose=0)

    # DANN: the same parts, a domain classifier behind gradient reversal, plain fit.
    features, classifier = build_parts()
    model = kt.models.DomainAdaptationModel(
        features, classifier, alignment=kt.layers.DomainAdversarialHead(hidden_units=(256, 256)))
    model.compile(optimizer(), "sparse_categorical_crossentropy", metrics=["accuracy"])
    data = kt.data.domain_adaptation_dataset(
        source=(x_source, y_source), target=x_uci[target], batch_size=64, seed=args.seed).repeat()
    history = model.fit(
        data, epochs=epochs, steps_per_epoch=steps, verbose=0, validation_data=(x_uci[val], y_uci[val]),
        callbacks=[kt.callbacks.GradientReversalSchedule("dann", max_value=0.3), BestOnValidation()])
    _, dann = model.evaluate(x_uci[test], y_uci[test], verbose=0)

    print(f"target (UCI digits) test accuracy: source only {source_only:.3f}, DANN {dann:.3f}")
    print("last epoch logs:", {k: round(v[-1], 3) for k, v in history.history.items()})
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "font_to_uci_dann.keras")
    model.inference_model.save(path)  # a plain functional model: load_model, export, serve
    print("inference model saved to", path)
    return {"source_only": source_only, "dann": dann, "history": history.history}


if __name__ == "__main__":
    main()
