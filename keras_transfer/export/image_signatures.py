"""Serving signatures for image clients: uint8 batches and encoded images (`image_bytes`).

TF Serving clients often send `uint8` pixels or the JPEG/PNG files
themselves (REST: `{"b64": ...}` strings). One signature cannot take both a
float and a uint8 input (it would require both), so each is its own
signature beside the float `serving_default`:

- `serving_uint8`: `images`, a `uint8` batch of the model's input shape;
- `serving_image_bytes`: `image_bytes`, a batch of encoded images (JPEG,
  PNG, GIF, BMP), decoded to the model's channels and resized (bilinear, as
  `keras.utils.image_dataset_from_directory` does) in the graph.

Both return what `serving_default` returns.
"""

UINT8 = "serving_uint8"
IMAGE_BYTES = "serving_image_bytes"


def image_signatures(serving, spec, input_name):
    """`{name: concrete function}` for an image model whose float input is `spec`; `{}` otherwise."""
    import tensorflow as tf

    shape = tuple(spec.shape)
    if spec.dtype != tf.float32 or len(shape) != 4 or shape[-1] not in (1, 3, 4):
        return {}
    height, width, channels = shape[1:]

    def from_uint8(images):
        return serving(**{input_name: tf.cast(images, tf.float32)})

    signatures = {
        UINT8: tf.function(from_uint8).get_concrete_function(tf.TensorSpec((None, *shape[1:]), tf.uint8, name="images")),
    }
    if height is None or width is None:  # no fixed size to resize encoded images to
        return signatures

    def decode(data):
        image = tf.io.decode_image(data, channels=channels, expand_animations=False)
        image = tf.image.resize(image, (height, width), method="bilinear")
        image.set_shape((height, width, channels))
        return image

    def from_bytes(image_bytes):
        images = tf.map_fn(decode, image_bytes, fn_output_signature=tf.TensorSpec((height, width, channels), tf.float32))
        return serving(**{input_name: images})

    signatures[IMAGE_BYTES] = tf.function(from_bytes).get_concrete_function(
        tf.TensorSpec((None,), tf.string, name="image_bytes"))
    return signatures
