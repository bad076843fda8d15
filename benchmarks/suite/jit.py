"""XLA (`jit_compile=True`) vs no XLA for `build_classifier` + `model.fit`, per train step.

Each configuration is compiled twice, `jit_compile=False` (baseline) and
`jit_compile=True` (candidate), alternating which goes first across repeats;
a step's time is the median epoch time after the first epoch (which pays the
tracing and XLA compilation) divided by the steps per epoch. Random inputs in
[0, 255], batch 32, Adam. Configurations: a frozen VGG16 (feature extraction,
the seed-002 recipe), a fully trainable MobileNetV2 (fine-tuning), a small
two-convolution CNN given to `build_classifier` as a `keras.Model`, fully
trainable, and the head alone on cached 512-d features (what
`fit_classifier` trains). `--quick` runs the last two only.
"""

import math

import keras
import numpy as np

import keras_transfer as kt
from benchmarks.table import Row
from benchmarks.table import median
from benchmarks.timing import EpochTimer

BATCH = 32
NOTES = """
**When to turn XLA on.** Keep Keras's default, `jit_compile="auto"`, which leaves XLA off on a
CPU-only TensorFlow. On CPU, compare the two rows above for your model before forcing it: the
convolutional backbones here got slower with XLA (the VGG16 row: 14.8x per step), and the first
epoch pays the compilation. XLA pays on GPUs/TPUs and
for long runs of small, fused-friendly steps; measure with
`python -m benchmarks.run --only jit` on the machine that will train. Every training path of the
package is tested with `jit_compile=True` for correctness, whatever the speed.
"""


def _configs(quick):
    if quick:
        return [
            dict(name="small CNN fine-tuned, 32x32", backbone="small_cnn", freeze=False, images=256, epochs=2),
            dict(name="head on cached features (512-d)", head=512, images=2048, epochs=3),
        ]
    return [
        dict(name="VGG16 frozen, 32x32", backbone="vgg16", freeze=True, images=256, epochs=2),
        dict(name="MobileNetV2 fine-tuned, 32x32", backbone="mobilenet_v2", freeze=False, images=256, epochs=2),
        dict(name="small CNN fine-tuned, 32x32", backbone="small_cnn", freeze=False, images=1024, epochs=3),
        dict(name="head on cached features (512-d)", head=512, images=5000, epochs=4),
    ]


def _model(config, seed):
    keras.utils.set_random_seed(seed)
    if "head" in config:
        inputs = keras.Input((config["head"],))
        outputs = keras.layers.Dense(10, activation="softmax", name="predictions")(inputs)
        return keras.Model(inputs, outputs)
    if config["backbone"] == "small_cnn":
        inputs = keras.Input((32, 32, 3))
        x = keras.layers.Rescaling(1 / 255.0)(inputs)
        x = keras.layers.Conv2D(16, 3, activation="relu", name="conv1")(x)
        x = keras.layers.MaxPooling2D(name="pool1")(x)
        x = keras.layers.Conv2D(32, 3, activation="relu", name="conv2")(x)
        backbone = keras.Model(inputs, x, name="small_cnn")
        return kt.build_classifier(backbone, 10, input_shape=(32, 32, 3), freeze=config["freeze"])
    return kt.build_classifier(config["backbone"], 10, weights=None, input_shape=(32, 32, 3), freeze=config["freeze"])


def _data(config):
    rng = np.random.default_rng(0)
    shape = (config["head"],) if "head" in config else (32, 32, 3)
    high = 1.0 if "head" in config else 255.0
    x = rng.uniform(0, high, (config["images"],) + shape).astype("float32")
    return x, rng.integers(0, 10, config["images"])


def _step_ms(config, jit, seed):
    x, y = _data(config)
    model = _model(config, seed)
    model.compile("adam", "sparse_categorical_crossentropy", jit_compile=jit)
    timer = EpochTimer()
    model.fit(x, y, batch_size=BATCH, epochs=config["epochs"], verbose=0, callbacks=[timer])
    losses_finite = np.isfinite(model.evaluate(x[:BATCH], y[:BATCH], verbose=0))
    keras.backend.clear_session()
    if not losses_finite:
        raise FloatingPointError(f"non-finite loss for {config['name']} with jit_compile={jit}")
    steps = math.ceil(config["images"] / BATCH)
    return 1000.0 * median(timer.seconds[1:]) / steps, timer.seconds[0]


def run(quick=False):
    repeats = 1 if quick else 2
    rows = []
    for config in _configs(quick):
        times = {False: [], True: []}
        first = {False: [], True: []}
        for repeat in range(repeats):
            for jit in ((False, True) if repeat % 2 == 0 else (True, False)):
                per_step, first_epoch = _step_ms(config, jit, seed=10 + repeat)
                times[jit].append(per_step)
                first[jit].append(first_epoch)
                print(f"  {config['name']} jit={jit}: {per_step:.1f} ms/step, first epoch {first_epoch:.1f} s", flush=True)
        rows.append(
            Row(
                "jit", f"train step, {config['name']}, batch {BATCH}",
                "jit_compile=False", "jit_compile=True", median(times[False]), median(times[True]), "ms",
                note=f"{repeats} repeat(s); first epoch (trace/compile) {median(first[False]):.1f} s vs {median(first[True]):.1f} s",
            )
        )
    return rows
