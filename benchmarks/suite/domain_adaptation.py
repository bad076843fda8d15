"""DomainAdaptationModel (DANN, MMD, CORAL, MDD) and MCDModel vs a plain `model.fit`, per train step.

The encoder and classifier of `benchmarks/domain_adaptation.py` (the
Fashion-MNIST pair: three convolution/dense blocks with BatchNorm, 28x28x3
inputs), SGD with momentum, `jit_compile=False`. Baseline: the source-only
model trained by a plain `model.fit` on labelled batches of 64. Candidates:
the same two parts in a `DomainAdaptationModel`, fitted on
`domain_adaptation_dataset(batch_size=64)`: each step reads 64 labelled
source images *and* 64 unlabelled target images, so twice the images of the
baseline's step go through the encoder (the price of adaptation, which the
ratio shows). `MCDModel` (its default, one extractor update per batch)
makes 3 forward and backward passes per step: the source (step A), source and
target through both classifiers (B), the target again (C). Epochs of the models
alternate; the first epoch of each (tracing) is excluded; medians over the rest.
"""

import keras
import numpy as np

import keras_transfer as kt
from benchmarks.domain_adaptation import classifier
from benchmarks.domain_adaptation import encoder
from benchmarks.table import Row
from benchmarks.table import median
from benchmarks.timing import EpochTimer

BATCH = 64
SHAPE = (28, 28, 3)
ALIGNMENTS = {
    "DANN": lambda: kt.layers.DomainAdversarialHead((256, 256)),
    "MMD": lambda: kt.losses.MMD(),
    "CORAL": lambda: kt.losses.CORAL(),
    "MDD": lambda: kt.layers.MarginDisparityHead((256,)),
}
MCD_STEPS = 1


def _images(steps):
    (x, y), _ = kt.data.load_fashion_mnist()
    x = np.repeat(x[: 2 * steps * BATCH, ..., None], 3, axis=-1).astype("float32") / 255.0
    y = y[: steps * BATCH].astype("int64")
    return x[: steps * BATCH], y, 1.0 - x[steps * BATCH:]  # the target: inverted images


def _parts():
    keras.utils.set_random_seed(0)
    features = encoder("fmnist", SHAPE)
    return features, classifier(features.output_shape[-1])


def _compile(model):
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9), "sparse_categorical_crossentropy", jit_compile=False)
    return model


def step_times(steps, rounds):
    """`{name: ms per step}` for the plain fit and each alignment, epochs alternated."""
    x_s, y_s, x_t = _images(steps)
    plain = _compile(keras.Sequential(list(_parts())))
    runs = {"plain": (plain, dict(x=x_s, y=y_s, batch_size=BATCH))}
    for name, alignment in ALIGNMENTS.items():
        model = _compile(kt.models.DomainAdaptationModel(*_parts(), alignment=alignment()))
        data = kt.data.domain_adaptation_dataset(source=(x_s, y_s), target=x_t, batch_size=BATCH, seed=0)
        runs[name] = (model, dict(x=data))
    runs["MCD"] = (_compile(kt.models.MCDModel(*_parts(), generator_steps=MCD_STEPS)), dict(x=data))
    timers = {name: EpochTimer() for name in runs}
    order = list(runs)
    for epoch in range(rounds + 1):
        for name in order if epoch % 2 == 0 else reversed(order):
            model, data = runs[name]
            model.fit(**data, epochs=epoch + 1, initial_epoch=epoch, callbacks=[timers[name]], verbose=0, shuffle=False)
    return {name: 1000.0 * median(timer.seconds[1:]) / steps for name, timer in timers.items()}


def run(quick=False):
    steps, rounds = (4, 2) if quick else (30, 6)
    times = step_times(steps, rounds)
    rows = [
        Row("", f"train step, batch {BATCH} source (+ {BATCH} target)", "model.fit (source only)",
            f"DomainAdaptationModel ({name})", times["plain"], times[name], "ms",
            note=f"candidate encodes 2x the images per step; {rounds} alternating epochs of {steps} steps")
        for name in ALIGNMENTS
    ]
    return rows + [Row("", f"train step, batch {BATCH} source (+ {BATCH} target)", "model.fit (source only)",
                       f"MCDModel (generator_steps={MCD_STEPS})", times["plain"], times["MCD"], "ms",
                       note=f"candidate makes {2 + MCD_STEPS} updates per step (the paper's algorithm); {rounds} "
                            f"alternating epochs of {steps} steps")]
