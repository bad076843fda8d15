"""Peak resident memory of `fit_classifier(cache_features=True)`, features in memory and on disk.

A frozen VGG16 (`weights=None`: the weights change no allocation) at
224x224 with a 10-class head, trained by `keras_transfer.fit_classifier`
for 2 epochs at batch 32 on N random uint8 images (seeded; pixel values
change no allocation either), for each N and each storage: `"memory"`
(the default when the features fit) and `"disk"` (forced with
`max_cache_memory=0`: a `tf.data` cache file). Each measurement runs in a
fresh Python process (a subprocess), which reports its own `VmHWM` (peak
resident set, /proc/self/status) and `VmRSS` at three points: after
importing keras_transfer and building and compiling the model (baseline),
after creating the image array, and at the end of `fit_classifier` (peak).
The peak is fitted linearly in N and extrapolated to 10,000 images (an
extrapolation, not a measurement). Seconds are indicative only on a shared
machine.

    nice -n 10 python -m benchmarks.cache_memory                 # N = 1000, 2000; writes docs/benchmarks/cache_memory.md
    nice -n 10 python -m benchmarks.cache_memory --sizes 200 --backbone tiny --output -   # seconds, prints only

`--backbone tiny` swaps VGG16 for one strided 8x8 convolution (same 224x224
input): the memory that the data path itself costs, without VGG16's
activations.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

OUTPUT = os.path.join("docs", "benchmarks", "cache_memory.md")
MIB = 2**20
EXTRAPOLATE_TO = 10_000


def _status():
    """`{"VmRSS": MiB, "VmHWM": MiB}` of this process."""
    values = {}
    with open("/proc/self/status") as handle:
        for line in handle:
            key = line.split(":", 1)[0]
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(line.split()[1]) / 1024
    return values


def _build(backbone):
    import keras
    import keras_transfer as kt

    if backbone == "vgg16":
        model = kt.build_classifier("vgg16", 10, weights=None, input_shape=(224, 224, 3), freeze=True)
    else:
        inputs = keras.Input((224, 224, 3))
        outputs = keras.layers.Conv2D(8, 8, strides=8, name="conv")(inputs)
        model = kt.build_classifier(keras.Model(inputs, outputs, name="tiny"), 10, input_shape=(224, 224, 3))
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def child(images, storage, backbone, epochs, batch_size):
    """One measurement, in this (fresh) process; prints one JSON line."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import keras_transfer as kt

    model = _build(backbone)
    baseline = _status()
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (images, 224, 224, 3), dtype=np.uint8)
    y = np.arange(images) % 10
    with_array = _status()
    start = time.perf_counter()
    history = kt.fit_classifier(
        model, x, y, epochs=epochs, batch_size=batch_size, cache_features=True, verbose=0,
        max_cache_memory=0 if storage == "disk" else "auto",
    )
    seconds = time.perf_counter() - start
    end = _status()
    feature_bytes = images * int(np.prod(model.feature_extractor.output_shape[1:])) * 4
    print("RESULT " + json.dumps(dict(
        images=images, storage=storage, mode=history.feature_cache["mode"], backbone=backbone,
        baseline_mib=baseline["VmRSS"], with_array_mib=with_array["VmRSS"], peak_mib=end["VmHWM"],
        end_rss_mib=end["VmRSS"], input_mib=x.nbytes / MIB, feature_mib=feature_bytes / MIB,
        extraction_s=history.feature_cache["extraction_seconds"], fit_s=seconds,
    )), flush=True)


def measure(images, storage, backbone, epochs, batch_size):
    """Runs `child` in a fresh interpreter and returns its result."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    command = [
        sys.executable, "-m", "benchmarks.cache_memory", "--child", str(images), storage,
        "--backbone", backbone, "--epochs", str(epochs), "--batch-size", str(batch_size),
    ]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    for line in result.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise RuntimeError(f"measurement {images} {storage} failed (exit {result.returncode}):\n{result.stderr[-3000:]}")


def linear_fit(points):
    """`(slope, intercept)` of the least-squares line through `[(x, y), ...]`."""
    n = len(points)
    mean_x = sum(p[0] for p in points) / n
    mean_y = sum(p[1] for p in points) / n
    spread = sum((p[0] - mean_x) ** 2 for p in points)
    slope = sum((p[0] - mean_x) * (p[1] - mean_y) for p in points) / spread if spread else 0.0
    return slope, mean_y - slope * mean_x


def table(results):
    lines = [
        "| N | storage | input array | features | baseline RSS | RSS with the array | peak RSS | peak - baseline | extraction s | fit s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['images']:,} | {r['mode']} | {r['input_mib']:.0f} MiB | {r['feature_mib']:.1f} MiB | "
            f"{r['baseline_mib']:.0f} MiB | {r['with_array_mib']:.0f} MiB | {r['peak_mib']:.0f} MiB | "
            f"{r['peak_mib'] - r['baseline_mib']:.0f} MiB | {r['extraction_s']:.0f} | {r['fit_s']:.0f} |"
        )
    return "\n".join(lines)


def extrapolation(results):
    lines = [
        f"| storage | peak RSS per 1,000 images (slope) | intercept | peak at {EXTRAPOLATE_TO:,} (extrapolated) | input array at {EXTRAPOLATE_TO:,} |",
        "|---|---|---|---|---|",
    ]
    for storage in sorted({r["mode"] for r in results}):
        points = [(r["images"], r["peak_mib"]) for r in results if r["mode"] == storage]
        if len({p[0] for p in points}) < 2:
            continue
        slope, intercept = linear_fit(points)
        per_image_input = next(r["input_mib"] / r["images"] for r in results if r["mode"] == storage)
        lines.append(
            f"| {storage} | {1000 * slope:.0f} MiB | {intercept:.0f} MiB | "
            f"{(intercept + slope * EXTRAPOLATE_TO) / 1024:.2f} GiB | {per_image_input * EXTRAPOLATE_TO / 1024:.2f} GiB |"
        )
    return "\n".join(lines)


def machine():
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), cpu)
        with open("/proc/meminfo") as handle:
            ram = next(int(line.split()[1]) / 2**20 for line in handle if line.startswith("MemTotal:"))
    except (OSError, StopIteration):
        ram = float("nan")
    return f"{cpu}, {os.cpu_count()} cores, {ram:.1f} GiB RAM, Python {platform.python_version()}, {platform.platform()}"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cache_memory", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000], help="numbers of images (default 1000 2000)")
    parser.add_argument("--storages", nargs="+", default=["memory", "disk"], choices=["memory", "disk"])
    parser.add_argument("--backbone", default="vgg16", choices=["vgg16", "tiny"])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--output", default=OUTPUT, help=f"Markdown file to write (default {OUTPUT}; '-' for none)")
    parser.add_argument("--child", nargs=2, metavar=("IMAGES", "STORAGE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(int(args.child[0]), args.child[1], args.backbone, args.epochs, args.batch_size)

    started = datetime.datetime.now(datetime.timezone.utc)
    load = "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    command = "nice -n 10 python -m benchmarks.cache_memory " + " ".join(argv if argv is not None else sys.argv[1:])
    results = []
    for images in args.sizes:
        for storage in args.storages:
            result = measure(images, storage, args.backbone, args.epochs, args.batch_size)
            print(json.dumps(result), flush=True)
            results.append(result)
    body = "\n\n".join([table(results), extrapolation(results)])
    print("\n" + body)
    if args.output != "-":
        page = "\n".join([
            "# Benchmark: memory of cached features",
            "",
            f"Command: `{command.strip()}`",
            "",
            f"Machine: {machine()}. Date: {started:%Y-%m-%d %H:%M} UTC; load average at start {load}, "
            f"at end {'{:.1f} {:.1f} {:.1f}'.format(*os.getloadavg())} (a shared machine: seconds are indicative only).",
            "",
            body,
            "",
        ])
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        with open(args.output, "w") as handle:
            handle.write(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
