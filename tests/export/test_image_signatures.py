"""The served model takes uint8 batches and encoded images besides floats, with the same answers."""

import base64
import json

import numpy as np
import pytest
import tensorflow as tf

from tests.test_case import tiny_classifier
import keras_transfer as kt


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    model = tiny_classifier(3)
    model.class_names = ["sneaker", "trouser", "tshirt"]
    path = str(tmp_path_factory.mktemp("served") / "model")
    kt.export.export_saved_model(model, path)
    return model, tf.saved_model.load(path)


def _pixels(n, size=(8, 8), channels=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, *size, channels), dtype=np.uint8)


def test_the_signatures_are_there(served):
    _, loaded = served
    assert sorted(loaded.signatures) == ["serving_default", "serving_image_bytes", "serving_uint8"]


def test_uint8_batches_answer_as_floats_do(served):
    _, loaded = served
    pixels = _pixels(5)
    by_float = loaded.signatures["serving_default"](images=tf.constant(pixels, tf.float32))
    by_uint8 = loaded.signatures["serving_uint8"](images=tf.constant(pixels))
    for key in ("probabilities", "class_ids", "class_names"):
        np.testing.assert_array_equal(by_uint8[key].numpy(), by_float[key].numpy())


def test_encoded_images_are_decoded_and_resized_in_the_graph(served):
    model, loaded = served
    pixels = _pixels(4)
    png = [tf.io.encode_png(image).numpy() for image in pixels]
    by_bytes = loaded.signatures["serving_image_bytes"](image_bytes=tf.constant(png))
    by_float = loaded.signatures["serving_default"](images=tf.constant(pixels, tf.float32))
    np.testing.assert_allclose(by_bytes["probabilities"].numpy(), by_float["probabilities"].numpy(), atol=1e-6)
    # A larger JPEG is resized to the model's 8x8 as image_dataset_from_directory would.
    big = _pixels(1, size=(20, 16), seed=1)[0]
    jpeg = tf.io.encode_jpeg(big, quality=100).numpy()
    decoded = tf.image.resize(tf.io.decode_jpeg(jpeg, channels=3), (8, 8), method="bilinear")[None]
    by_jpeg = loaded.signatures["serving_image_bytes"](image_bytes=tf.constant([jpeg]))
    np.testing.assert_allclose(by_jpeg["probabilities"].numpy(), model.predict(decoded.numpy(), verbose=0), atol=1e-5)


def test_the_rest_body_tf_serving_documents_gives_the_float_paths_classes(served):
    """TF Serving's REST API carries binary inputs as {"b64": ...}; the server base64-decodes them into the string tensor."""
    _, loaded = served
    pixels = _pixels(6, seed=2)
    body = json.dumps({
        "signature_name": "serving_image_bytes",
        "instances": [{"image_bytes": {"b64": base64.b64encode(tf.io.encode_png(p).numpy()).decode("ascii")}} for p in pixels],
    })
    request = json.loads(body)  # what the server receives
    signature = loaded.signatures[request["signature_name"]]
    batch = tf.constant([base64.b64decode(instance["image_bytes"]["b64"]) for instance in request["instances"]])
    answer = signature(image_bytes=batch)
    expected = loaded.signatures["serving_default"](images=tf.constant(pixels, tf.float32))
    assert answer["class_names"].numpy().tolist() == expected["class_names"].numpy().tolist()


def test_grayscale_models_decode_one_channel(tmp_path):
    model = tiny_classifier(2, input_shape=(8, 8, 1))
    path = str(tmp_path / "gray")
    kt.export.export_saved_model(model, path)
    loaded = tf.saved_model.load(path)
    pixels = _pixels(3, channels=1)
    by_bytes = loaded.signatures["serving_image_bytes"](image_bytes=tf.constant([tf.io.encode_png(p).numpy() for p in pixels]))
    np.testing.assert_allclose(by_bytes["probabilities"].numpy(), model.predict(pixels.astype("float32"), verbose=0), atol=1e-6)
