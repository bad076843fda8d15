"""Fashion-MNIST-C: time and strength of each corruption of `keras_transfer.data.corrupt`.

On the 10,000 Fashion-MNIST test images: the wall time of one `corrupt` call at
severity 5 (the median of `--repeats` calls, after a warm-up call that also
traces the JPEG `tf.function`), and the mean absolute pixel change from the
clean images (0..255 scale) at severities 1 to 5, seed 0. Prints a Markdown
table (the one in `docs/corruptions.md`).

    python -m benchmarks.corruption_stats
    python -m benchmarks.corruption_stats --quick    # 1,000 images, one call
"""

import argparse
import time

import numpy as np

import keras_transfer as kt


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 images, no repeats")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per corruption")
    args = parser.parse_args(argv)
    _, (x, _) = kt.data.load_fashion_mnist()
    if args.quick:
        x, args.repeats = x[:1000], 1
    print(f"{len(x)} Fashion-MNIST test images, seed 0; time of one call at severity 5 (median of {args.repeats})\n")
    print("| corruption | seconds (severity 5) | " + " | ".join(f"change {s}" for s in range(1, 6)) + " |")
    print("|---|---:|" + "---:|" * 5)
    for corruption in kt.data.CORRUPTIONS:
        kt.data.corrupt(x[:10], corruption, 5)  # warm-up
        seconds = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            kt.data.corrupt(x, corruption, 5)
            seconds.append(time.perf_counter() - start)
        changes = [np.abs(kt.data.corrupt(x, corruption, s).astype("float32") - x).mean() for s in range(1, 6)]
        print(f"| `{corruption}` | {np.median(seconds):.2f} | " + " | ".join(f"{c:.1f}" for c in changes) + " |")


if __name__ == "__main__":
    main()
