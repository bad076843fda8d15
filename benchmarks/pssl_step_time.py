"""P-SSL step time against FixMatch with real unlabelled data of the same batch size.

Both runs train the same target network with the same `FixMatch` settings
(labelled batch `--batch`, `--ratio` unlabelled images per labelled image).
The baseline reads its unlabelled images from a `tf.data` pipeline
(`keras_transfer.ssl.ssl_dataset`); P-SSL generates them inside the step with
`PseudoSSLGenerator` (source classifier + conditional VAE decoder). Rounds of
`--steps` steps alternate between the two (after a warm-up round each, which
absorbs tracing and compilation), so load from other processes hits both
alike; the per-step times come from a callback around each train batch.
Prints the median step times and their ratio.

    nice -n 10 python benchmarks/pssl_step_time.py            # jit_compile="auto" (off on CPU)
    nice -n 10 python benchmarks/pssl_step_time.py --jit      # jit_compile=True
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_transfer as kt  # noqa: E402
from benchmarks.generative_transfer import source_classifier  # noqa: E402
from benchmarks.generative_transfer import target_network  # noqa: E402


class StepTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.times, self._start = [], None

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter() - self._start)


def step_times(batch=25, ratio=7, steps=20, rounds=5, jit=False, labelled_images=500):
    """Median ms per step `{"real": ..., "pssl": ...}`, rounds of `steps` steps alternated."""
    (x, y), _ = kt.data.load_fashion_mnist()
    x = x[..., None].astype("float32")
    y = (y % 5).astype("int64")
    labelled = (x[:labelled_images], y[:labelled_images])
    unlabelled = x[labelled_images:labelled_images + 40 * batch * ratio]
    keras.utils.set_random_seed(0)
    generator = kt.generative.ConditionalVAE((28, 28, 1), 5, latent_dim=16, seed=0)
    pseudo = kt.layers.PseudoSSLGenerator(generator, source_classifier(5), seed=0)
    jit = True if jit else "auto"

    def learner(pseudo_generator):
        model = kt.ssl.FixMatch(target_network(5), pseudo_generator=pseudo_generator, unlabeled_ratio=ratio, seed=0)
        model.compile(keras.optimizers.Adam(1e-3), metrics=["accuracy"], jit_compile=jit)
        return model

    real = learner(None)
    real_data = kt.ssl.ssl_dataset(labelled, unlabelled, batch_size=batch, unlabeled_ratio=ratio, seed=0).repeat()
    pssl = learner(pseudo)
    pssl_data = tf.data.Dataset.from_tensor_slices(labelled).shuffle(labelled_images, seed=0).repeat()
    pssl_data = pssl_data.batch(batch, drop_remainder=True).prefetch(2)
    timers = {"real": StepTimer(), "pssl": StepTimer()}
    runs = {"real": (real, real_data), "pssl": (pssl, pssl_data)}
    for round_index in range(rounds + 1):
        for name in ("real", "pssl") if round_index % 2 == 0 else ("pssl", "real"):
            model, data = runs[name]
            timer = timers[name] if round_index > 0 else StepTimer()
            model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[timer])
    return {name: 1000 * float(np.median(timer.times)) for name, timer in timers.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--ratio", type=int, default=7)
    parser.add_argument("--steps", type=int, default=20, help="steps per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--jit", action="store_true")
    args = parser.parse_args(argv)
    times = step_times(args.batch, args.ratio, args.steps, args.rounds, args.jit)
    real_ms, pssl_ms = times["real"], times["pssl"]
    images = args.batch * (1 + 2 * args.ratio)
    print(f"jit_compile={True if args.jit else 'auto'!r}, labelled batch {args.batch}, {args.batch * args.ratio} "
          f"unlabelled per step ({images} images through the target network), {args.rounds} alternating rounds "
          f"of {args.steps} steps")
    print(f"FixMatch, real unlabelled data: {real_ms:.1f} ms/step (median)")
    print(f"P-SSL (generated in the step):  {pssl_ms:.1f} ms/step (median)")
    print(f"ratio P-SSL / real: {pssl_ms / real_ms:.2f}")
    return {"real_ms": real_ms, "pssl_ms": pssl_ms, "ratio": pssl_ms / real_ms}


if __name__ == "__main__":
    main()
