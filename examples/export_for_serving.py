"""Build, train briefly, export for TF Serving / TF Hub, and load it back four ways.

    python examples/export_for_serving.py [--quick] [--out DIR]
"""

import argparse
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_transfer as kt  # noqa: E402


def main(quick=False, out=None):
    (x, y), _ = kt.data.load_fashion_mnist()
    x = x[: 500 if quick else 5000, ..., None].astype("float32")
    y = y[: len(x)]
    model = kt.build_classifier("mobilenet_v2", 10, weights=None, input_shape=(28, 28, 1), adapt_input=True)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=1, batch_size=64, verbose=0)

    out = out or os.path.join(tempfile.mkdtemp(), "fashion_classifier")
    kt.export.export_saved_model(model, out, class_names=list(kt.data.FASHION_MNIST_CLASSES))
    print("exported to", out)

    images = x[:4]
    expected = model.predict(images, verbose=0)
    serve = tf.saved_model.load(out).signatures["serving_default"]
    served = serve(images=tf.constant(images))
    print("TF Serving signature:", [name.decode() for name in served["class_names"].numpy()])
    print("max |difference| vs Keras, serving_default:", float(np.abs(served["probabilities"].numpy() - expected).max()))
    reloaded = keras.layers.TFSMLayer(out)
    print("max |difference| vs Keras, TFSMLayer:", float(np.abs(keras.ops.convert_to_numpy(reloaded(images)) - expected).max()))
    try:
        import tensorflow_hub as hub

        print("max |difference| vs Keras, hub.load:", float(np.abs(hub.load(out)(images).numpy() - expected).max()))
    except ImportError:
        print("tensorflow_hub is not installed: skipping hub.load")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    main(args.quick, args.out)
