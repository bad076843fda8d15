"""Writes the `.keras` files of `tests/compat/v0_1/` (run once, with keras_transfer 0.1.0).

Each file is a small model of one kind the package saves, trained a few steps
(so optimizer state is saved too), plus the predictions it made on fixed
inputs. `test_v0_1_files.py` loads them with the current package: files saved
by an earlier version keep loading and predicting the same.

    python -m tests.compat.make_v0_1_files
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_transfer as kt  # noqa: E402

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "v0_1")
SHAPE = (8, 8, 1)


def _images(n, seed=0, shape=SHAPE):
    return np.random.default_rng(seed).uniform(0, 255, (n, *shape)).astype("float32")


def _cnn(classes, name):
    inputs = keras.Input(SHAPE)
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(x)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def _trunk():
    inputs = keras.Input(SHAPE)
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv_a")(inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv_b")(x)
    return keras.Model(inputs, x, name="trunk")


def files():
    """`{name: (model to save, inputs to predict on)}`; each model is trained a few steps."""
    keras.utils.set_random_seed(0)
    x, y = _images(16), np.arange(16) % 2
    made = {}

    classifier = kt.build_classifier(_trunk(), 2, input_shape=SHAPE, freeze=["conv_a"], preprocessing="unit")
    classifier.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    classifier.fit(x, y, epochs=2, batch_size=8, verbose=0,
                   callbacks=[kt.callbacks.FreezeSchedule({1: "all"}), kt.callbacks.DiscriminativeLR(decay=0.5)])
    made["transfer_classifier_group_optimizer"] = (classifier, x)

    l2sp = kt.regularizers.apply_l2sp(kt.build_classifier(_trunk(), 2, input_shape=SHAPE, freeze=False, preprocessing="unit"))
    l2sp.compile("adam", "sparse_categorical_crossentropy")
    l2sp.fit(x, y, epochs=1, batch_size=8, verbose=0)
    made["l2sp_model"] = (l2sp, x)

    fixmatch = kt.ssl.FixMatch(_cnn(2, "student"), threshold=0.5, seed=0)
    fixmatch.compile("adam", metrics=["accuracy"])
    fixmatch.fit((x, _images(16, seed=1)), y, batch_size=8, epochs=1, verbose=0)
    made["fixmatch"] = (fixmatch, x)

    distiller = kt.distill.Distiller(_cnn(2, "student"), _cnn(3, "teacher"), label_space="auxiliary")
    distiller.compile("adam", metrics=["accuracy"])
    distiller.fit(x, y, batch_size=8, epochs=1, verbose=0)
    made["distiller"] = (distiller, x)

    features = keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(), keras.layers.Dense(6, activation="relu")], name="features")
    head = keras.Sequential([keras.Input((6,)), keras.layers.Dense(2, activation="softmax")], name="head")
    dann = kt.models.DomainAdaptationModel(features, head, alignment=kt.layers.DomainAdversarialHead((8,)))
    dann.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    data = kt.data.domain_adaptation_dataset(source=(x, y), target=_images(16, seed=2), batch_size=8, seed=0)
    dann.fit(data, epochs=1, verbose=0, callbacks=[kt.callbacks.GradientReversalSchedule()])
    made["domain_adaptation_model"] = (dann, x)

    generator = kt.generative.ConditionalVAE(SHAPE, 3, latent_dim=4, filters=(4, 4), hidden_units=8, seed=0)
    generator.compile("adam")
    generator.fit(_images(12), np.arange(12) % 3, batch_size=6, epochs=1, verbose=0)
    made["conditional_vae"] = (generator, [np.zeros((2, 4), "float32"), np.eye(3, dtype="float32")[:2]])

    pretrainer = kt.generative.PseudoPretrainer(_cnn(3, "target"), generator, seed=0)
    pretrainer.compile("adam", metrics=["accuracy"])
    pretrainer.fit(batch_size=8, steps_per_epoch=2, epochs=1, verbose=0)
    made["pseudo_pretrainer"] = (pretrainer, x)

    from tests.text.tiny_preset import make_tiny_preset, sentiment_texts

    texts, labels = sentiment_texts(16)
    text = kt.build_text_classifier(make_tiny_preset(), 2, freeze=["embeddings"])
    text.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    text.fit(texts, labels, batch_size=8, epochs=1, verbose=0)
    made["text_classifier"] = (text, np.array(texts))
    return made


def main():
    os.makedirs(HERE, exist_ok=True)
    for name, (model, inputs) in files().items():
        path = os.path.join(HERE, f"{name}.keras")
        if os.path.exists(path):
            print(f"{path} exists: kept (delete it to write it again)", file=sys.stderr)
            continue
        model.save(path)
        predictions = model.predict(inputs, verbose=0)
        arrays = {"inputs": inputs} if not isinstance(inputs, list) else {f"inputs_{i}": v for i, v in enumerate(inputs)}
        np.savez(os.path.join(HERE, f"{name}.npz"), predictions=predictions, **arrays)
        print(f"wrote {path} ({os.path.getsize(path) // 1024} KiB), keras_transfer {kt.__version__}")


if __name__ == "__main__":
    main()
