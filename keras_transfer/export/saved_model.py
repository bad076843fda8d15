"""`export_saved_model`: a SavedModel for TF Serving and TF Hub."""

import os

import keras

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.export.image_signatures import image_signatures
from keras_transfer.export.safe_io import atomic_path
from keras_transfer.export.safe_io import check_target

KINDS = ("classifier", "feature_vector")


def _feature_model(model, feature_layer):
    if feature_layer is not None:
        try:
            layer = model.get_layer(feature_layer)
        except ValueError:
            raise _checks.invalid("feature_layer", f"the name of a layer of model {model.name!r}", feature_layer)
        return keras.Model(model.inputs, layer.output, name=f"{model.name}_features")
    extractor = getattr(model, "feature_extractor", None)
    if extractor is None:
        raise ValueError(
            f"Model {model.name!r} has no `feature_extractor`: pass `feature_layer=` (the name of "
            "the layer whose output are the features) to export a feature vector."
        )
    return extractor


def _output_activation(model):
    last = model.layers[-1]
    while isinstance(last, keras.Model) and last.layers:  # a wrapped model (e.g. an L2SPModel)
        last = last.layers[-1]
    return getattr(last, "activation", None)


def _classifier_outputs(outputs, activation, class_names):
    import tensorflow as tf

    result = {}
    if activation is keras.activations.sigmoid or outputs.shape[-1] == 1:
        probabilities = outputs if activation is keras.activations.sigmoid else tf.sigmoid(outputs)
        class_ids = tf.cast(probabilities[:, 0] > 0.5, tf.int64)
        scores = tf.where(class_ids == 1, probabilities[:, 0], 1.0 - probabilities[:, 0])
    else:
        if activation is keras.activations.softmax:
            probabilities = outputs
        else:
            result["logits"] = outputs
            probabilities = tf.nn.softmax(outputs)
        class_ids = tf.argmax(probabilities, axis=-1)
        scores = tf.reduce_max(probabilities, axis=-1)
    result["probabilities"] = tf.cast(probabilities, tf.float32)
    result["class_ids"] = class_ids
    result["scores"] = tf.cast(scores, tf.float32)
    if class_names is not None:
        result["class_names"] = tf.gather(tf.constant(class_names), class_ids)
    return result


@keras_transfer_export("keras_transfer.export.export_saved_model")
def export_saved_model(
    model, path, *, kind="classifier", class_names=None, feature_layer=None, overwrite=False, merge=True
):
    """Writes a SavedModel for TF Serving and TF Hub.

    The SavedModel takes the same raw inputs as the Keras model (e.g. images
    in [0, 255]: preprocessing is inside the model; text models of this
    package take a 1-D batch of strings, input name `texts`, and tokenize in
    the graph: load those after `import tensorflow_text`, e.g. with
    `keras_transfer.text.load_saved_model`) and can be used by:

    - TF Serving / `tf.saved_model.load(path).signatures["serving_default"]`:
      for `kind="classifier"` it returns `probabilities`, `class_ids`,
      `scores` (and `class_names` when given, `logits` for a logits model);
      for `kind="feature_vector"`, `features`. Image models also get
      `serving_uint8` (input `images`, a `uint8` batch) and
      `serving_image_bytes` (input `image_bytes`, a batch of JPEG/PNG/GIF/BMP
      strings, decoded and resized in the graph; over REST each is
      `{"b64": ...}`), which return the same outputs.
    - TF Hub: `hub.load(path)(inputs)` and `hub.KerasLayer(path)` in a
      `tf_keras` model (the root follows TF Hub's reusable SavedModel
      convention: a callable `__call__(inputs, training=False)`, `variables`,
      `trainable_variables`, `regularization_losses`, so
      `hub.KerasLayer(path, trainable=True)` fine-tunes it).
    - Keras 3: `keras.layers.TFSMLayer(path)` (endpoint `"serve"`, the
      prediction tensor) or `call_endpoint="serving_default"` (the dict).

    A model adapted with `keras_transfer.peft` (LoRA, rsLoRA, DoRA, IA3) is
    exported merged (`keras_transfer.peft.merge`): plain kernels, none of
    the methods' layers or variables, the same predictions.

    It is written to a temporary directory and renamed into place, so an
    interrupted export leaves a previous one intact.

    Args:
        model: a built `keras.Model` with one input, or a text model
            (`build_text_classifier`).
        path: the SavedModel directory.
        kind: `"classifier"` (predictions) or `"feature_vector"` (the
            backbone's pooled features: a TF Hub image feature vector).
        class_names: optional names of the classes, one per output unit (two
            for a one-unit sigmoid output), returned by the serving
            signatures. Defaults to the model's own `class_names`, if any.
        feature_layer: for `kind="feature_vector"` on a model without
            `feature_extractor`, the layer whose output are the features.
        overwrite: replace an existing non-empty directory. Defaults to
            `False` (refused before any work).
        merge: fold the PEFT variables of a `keras_transfer.peft` model into
            its kernels before exporting; `False` exports them as they are
            (unmerged factors, e.g. to fine-tune the SavedModel further).
            Defaults to `True`.

    Returns:
        The absolute path written.

    Example:

    >>> import numpy as np, tensorflow as tf, keras_transfer, tempfile, os
    >>> model = keras_transfer.build_classifier(
    ...     "vgg16", 2, weights=None, input_shape=(32, 32, 3))
    >>> path = os.path.join(tempfile.mkdtemp(), "exported")
    >>> _ = keras_transfer.export.export_saved_model(
    ...     model, path, class_names=["cat", "dog"])
    >>> serve = tf.saved_model.load(path).signatures["serving_default"]
    >>> sorted(serve(images=tf.zeros((1, 32, 32, 3)))) # doctest: +NORMALIZE_WHITESPACE
    ['class_ids', 'class_names', 'probabilities', 'scores']
    """
    import tensorflow as tf

    if not isinstance(model, keras.Model):
        raise _checks.invalid("model", "a keras.Model", model, error=TypeError)
    _checks.check_choice("kind", kind, KINDS)
    path = check_target(path, overwrite)
    if not model.built or not model.inputs:
        raise _checks.invalid("model", "a built model with a known input (call it once or build it)", model)
    if not isinstance(merge, bool):
        raise _checks.invalid("merge", "a bool", merge, error=TypeError)
    if merge:
        from keras_transfer.peft.merge import has_peft_layers
        from keras_transfer.peft.merge import merge as merge_peft

        if has_peft_layers(model):
            model = merge_peft(model)
    raw_spec = getattr(model, "raw_input_spec", None)  # text models: raw strings, tokenized in the graph
    if raw_spec is None and len(model.inputs) != 1:
        raise _checks.invalid("model", "a model with exactly one input", model)
    target = model if kind == "classifier" else _feature_model(model, feature_layer)
    if class_names is None and kind == "classifier":
        class_names = getattr(model, "class_names", None)
    if class_names is not None:
        if kind != "classifier":
            raise _checks.invalid("class_names", "None for kind='feature_vector'", class_names)
        if isinstance(class_names, str) or not all(isinstance(c, str) for c in class_names):
            raise _checks.invalid("class_names", "a list of str", class_names, error=TypeError)
        units = model.output_shape[-1]
        expected = 2 if units == 1 else units
        if len(class_names) != expected:
            raise _checks.invalid("class_names", f"{expected} names (one per class)", list(class_names))
        class_names = list(class_names)

    if raw_spec is not None:
        spec, input_name = raw_spec, raw_spec.name
    else:
        spec_input = model.inputs[0]
        input_name = getattr(spec_input, "name", None) or "inputs"
        input_name = input_name.split(":")[0].replace("/", "_") or "inputs"
        dtype = spec_input.dtype if spec_input.dtype is not None else "float32"
        spec = tf.TensorSpec(shape=(None, *spec_input.shape[1:]), dtype=dtype, name=input_name)
    activation = _output_activation(model)

    root = tf.__internal__.tracking.AutoTrackable()
    root.keras_model = target
    if raw_spec is not None:
        root.preprocessor = model.preprocessor  # the tokenizer's vocabulary travels with the graph
    root.variables = list(target.variables)
    from keras_transfer.groups.variables import trainable_capable_variables

    root.trainable_variables = trainable_capable_variables(target.layers)
    root.regularization_losses = []

    @tf.function
    def call(inputs, training=False):
        outputs = target(inputs, training=training)
        return tf.cast(outputs, tf.float32) if outputs.dtype != tf.float32 and outputs.dtype.is_floating else outputs

    call.get_concrete_function(spec, training=False)
    call.get_concrete_function(spec, training=True)
    root.__call__ = call
    root.serve = tf.function(lambda inputs: call(inputs, training=False), input_signature=[spec])

    def serving(**kwargs):
        outputs = call(kwargs[input_name], training=False)
        if kind == "feature_vector":
            return {"features": outputs}
        return _classifier_outputs(outputs, activation, class_names)

    signatures = {"serving_default": tf.function(serving).get_concrete_function(**{input_name: spec})}
    if raw_spec is None:
        signatures.update(image_signatures(serving, spec, input_name))
    if class_names is not None:
        root.class_names = tf.constant(class_names)
    with atomic_path(path) as temporary:
        tf.saved_model.save(root, temporary, signatures=signatures)
    return os.path.abspath(path)


@keras_transfer_export("keras_transfer.export.save_model")
def save_model(model, path, *, overwrite=False):
    """`model.save(path)` that never overwrites unless asked and never half-writes.

    Keras's own `model.save` overwrites by default; this helper refuses an
    existing file unless `overwrite=True`, writes to a temporary file and
    renames it into place.

    Example:

    >>> import keras, keras_transfer, tempfile, os
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.keras")
    >>> _ = keras_transfer.export.save_model(model, path)
    >>> keras_transfer.export.save_model(model, path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Invalid value received for argument `path`. ...overwrite=True...
    """
    if not isinstance(model, keras.Model):
        raise _checks.invalid("model", "a keras.Model", model, error=TypeError)
    path = check_target(path, overwrite, directory=False)
    if not (path.endswith(".keras") or path.endswith(".weights.h5")):
        raise _checks.invalid("path", "a file name ending in .keras (or .weights.h5 for weights only)", path)
    with atomic_path(path, directory=False) as temporary:
        suffix = ".weights.h5" if path.endswith(".weights.h5") else ".keras"
        temporary_file = temporary + suffix  # Keras wants the suffix; a failed write must not leave it behind
        try:
            if suffix == ".keras":
                model.save(temporary_file)
            else:
                model.save_weights(temporary_file)
            os.replace(temporary_file, temporary)
        finally:
            if os.path.exists(temporary_file):
                os.remove(temporary_file)
    return os.path.abspath(path)
