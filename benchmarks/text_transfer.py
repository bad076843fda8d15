"""Few-shot text classification: from scratch vs a pretrained encoder, four ways.

Task: Debian fortune cookies filed under six topics (computers, food, law,
love, politics, sports; `keras_transfer.data.load_fortunes`), K labelled
texts per class (K in 4, 16, 64), a validation split of 10 texts per class
(best epoch / best C selected on it) and a test split of 50 per class.
Splits are drawn per seed; every method sees the same split for a seed
(paired comparison).

Methods:
  tfidf_logreg         TF-IDF (1-2 grams) + logistic regression, C picked on validation
  scratch_bow          Keras from scratch: TextVectorization -> Embedding -> mean -> softmax
  scratch_transformer  all-MiniLM-L6-v2's architecture, random weights, trained end to end
  frozen_head          pretrained all-MiniLM-L6-v2 frozen, softmax head on cached features
  finetune             pretrained encoder + head, everything trains (AdamW 1e-4)
  layerwise_decay      as finetune, with kt.callbacks.DiscriminativeLR(decay=0.8): update x 0.8
                       per layer group below the head (embeddings x 0.8**7)

Run (a few hours on two shared CPU cores; resumable, one JSON line per run):

    nice -n 10 python benchmarks/text_transfer.py --out benchmarks/results/text_transfer.jsonl

`--quick` runs one tiny configuration (for a smoke test).
"""

import argparse
import json
import os
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras
import numpy as np

import keras_transfer as kt
from keras_transfer.text import demo

METHODS = ("tfidf_logreg", "scratch_bow", "scratch_transformer", "frozen_head", "finetune", "layerwise_decay")
EPOCHS = {4: 15, 16: 8, 64: 5}
BATCH_SIZE = {4: 8, 16: 16, 64: 16}
LEARNING_RATE = 1e-4
DECAY = 0.8


def finetuned(task, shots, seed, *, pretrained, decay=None, epochs=None):
    """The encoder + head trained on `task["train"]`, best epoch on validation; `(model, info)`."""
    keras.utils.set_random_seed(seed)
    model = kt.build_text_classifier(
        demo.minilm_directory(), len(task["topics"]), weights="pretrained" if pretrained else None,
        freeze=False, sequence_length=demo.DEMO_SEQUENCE_LENGTH,
    )
    callbacks = [demo.best_epoch_callback()]
    if decay is not None:
        callbacks.append(kt.callbacks.DiscriminativeLR(decay=decay))
    model.compile(keras.optimizers.AdamW(LEARNING_RATE), "sparse_categorical_crossentropy", metrics=["accuracy"])
    (x, y), (vx, vy) = task["train"], task["validation"]
    history = model.fit(
        x, y, validation_data=(vx, vy), epochs=epochs or EPOCHS[shots], batch_size=BATCH_SIZE[shots],
        verbose=0, callbacks=callbacks,
    )
    best = int(np.argmax(history.history["val_accuracy"]))
    return model, {"best_epoch": best + 1, "val_accuracy": float(history.history["val_accuracy"][best])}


def run_finetune(task, shots, seed, *, pretrained, decay=None, epochs=None):
    model, info = finetuned(task, shots, seed, pretrained=pretrained, decay=decay, epochs=epochs)
    tx, ty = task["test"]
    return float(model.evaluate(tx, ty, batch_size=64, verbose=0)[1]), info


def run_tfidf(task):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    (x, y), (vx, vy), (tx, ty) = task["train"], task["validation"], task["test"]
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    train = vectorizer.fit_transform(x)
    best = None
    for c in (0.001, 0.01, 0.1, 1.0, 10.0, 100.0):
        clf = LogisticRegression(C=c, max_iter=2000).fit(train, y)
        score = clf.score(vectorizer.transform(vx), vy)
        if best is None or score > best[0]:
            best = (score, c, clf)
    return float(best[2].score(vectorizer.transform(tx), ty)), {"C": best[1], "val_accuracy": float(best[0])}


class FeatureCache:
    """Frozen all-MiniLM-L6-v2 features of every text, computed once (and kept in `path`)."""

    def __init__(self, texts, path=None):
        start = time.time()
        if path and os.path.exists(path):
            self.features = np.load(path)
        else:
            model = kt.build_text_classifier(demo.minilm_directory(), 2, sequence_length=demo.DEMO_SEQUENCE_LENGTH)
            self.features = model.feature_extractor.predict(texts, batch_size=64, verbose=0)
            if path:
                np.save(path, self.features)
        if len(self.features) != len(texts):
            raise ValueError(f"feature cache {path!r} does not match the texts; delete it")
        self.seconds = time.time() - start
        self.index = {text: i for i, text in enumerate(texts)}

    def task_features(self, task):
        return {
            name: (self.features[[self.index[t] for t in task[name][0]]], task[name][1])
            for name in ("train", "validation", "test")
        }


def run_one(method, task, shots, seed, cache, quick):
    epochs = 1 if quick else None
    if method == "tfidf_logreg":
        return run_tfidf(task)
    if method == "scratch_bow":
        return demo.train_scratch(task, epochs=5 if quick else 60, seed=seed), {}
    if method == "frozen_head":
        return demo.train_head(cache.task_features(task), task, epochs=10 if quick else 300, seed=seed), {}
    if method == "scratch_transformer":
        return run_finetune(task, shots, seed, pretrained=False, epochs=epochs)
    if method == "finetune":
        return run_finetune(task, shots, seed, pretrained=True, epochs=epochs)
    if method == "layerwise_decay":
        return run_finetune(task, shots, seed, pretrained=True, decay=DECAY, epochs=epochs)
    raise ValueError(method)


CHEAP = ("tfidf_logreg", "scratch_bow", "frozen_head")


def plan(methods, shots_list, seeds):
    """Runs in priority order, so that a run cut short still has paired results:
    the cheap methods everywhere, then fine-tuning at the small K, then the
    from-scratch transformer at K=16, then the rest."""

    def priority(run):
        method, shots, seed = run
        if method in CHEAP:
            return (0, shots, seed)
        if method == "scratch_transformer":
            return (2 if shots == 16 else 4, seed, shots)
        return (1 if shots <= 16 else 3, seed, shots, methods.index(method))

    runs = [(m, k, s) for m in methods for k in shots_list for s in seeds]
    return sorted(runs, key=priority)


def summarize(records, methods, shots_list):
    lines = ["| method | " + " | ".join(f"K={k}" for k in shots_list) + " |", "|---|" + "---|" * len(shots_list)]
    table = {}
    for r in records:
        table.setdefault((r["method"], r["shots"]), {})[r["seed"]] = r["accuracy"]
    for method in methods:
        cells = []
        for k in shots_list:
            values = list(table.get((method, k), {}).values())
            cells.append(f"{100 * np.mean(values):.1f} ± {100 * np.std(values):.1f} (n={len(values)})" if values else "-")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    pairs = [("finetune", "frozen_head"), ("layerwise_decay", "finetune"), ("frozen_head", "tfidf_logreg"),
             ("frozen_head", "scratch_bow"), ("finetune", "scratch_transformer")]
    lines += ["", "Paired differences (same seed and split), accuracy points, mean ± std over seeds:", ""]
    lines += ["| difference | " + " | ".join(f"K={k}" for k in shots_list) + " |", "|---|" + "---|" * len(shots_list)]
    for a, b in pairs:
        cells = []
        for k in shots_list:
            ta, tb = table.get((a, k), {}), table.get((b, k), {})
            seeds = sorted(set(ta) & set(tb))
            diffs = [100 * (ta[s] - tb[s]) for s in seeds]
            cells.append(f"{np.mean(diffs):+.1f} ± {np.std(diffs):.1f} (n={len(diffs)})" if diffs else "-")
        lines.append(f"| {a} − {b} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shots", type=int, nargs="+", default=[4, 16, 64])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--out", default="benchmarks/results/text_transfer.jsonl")
    parser.add_argument("--quick", action="store_true", help="one seed, K=4, 1 epoch, small test split")
    parser.add_argument("--feature-cache", default=None, help="a .npy file to keep the frozen features in")
    args = parser.parse_args(argv)
    if args.quick:
        args.shots, args.seeds = [4], [0]
    warnings.filterwarnings("ignore", message=".*are truncated to sequence_length.*")

    done = []
    if os.path.exists(args.out) and not args.quick:
        with open(args.out) as handle:
            done = [json.loads(line) for line in handle if line.strip()]
    keys = {(r["method"], r["shots"], r["seed"]) for r in done}
    texts, labels, topics = kt.data.load_fortunes()
    print(f"fortunes: {len(texts)} texts, topics {topics}, class sizes {np.bincount(labels).tolist()}", flush=True)
    cache = None
    if "frozen_head" in args.methods:
        cache = FeatureCache(texts, args.feature_cache)
        print(f"encoded {len(texts)} texts with the frozen encoder in {cache.seconds:.0f} s", flush=True)
    records = list(done)
    tasks = {}
    for method, shots, seed in plan(args.methods, args.shots, args.seeds):
        if (method, shots, seed) in keys:
            continue
        if (shots, seed) not in tasks:
            tasks[shots, seed] = demo.few_shot_task(shots, seed, test_per_class=10 if args.quick else 50)
        task = tasks[shots, seed]
        start = time.time()
        accuracy, extra = run_one(method, task, shots, seed, cache, args.quick)
        record = {"method": method, "shots": shots, "seed": seed, "accuracy": accuracy,
                  "seconds": round(time.time() - start, 1), **extra}
        records.append(record)
        print(json.dumps(record), flush=True)
        if not args.quick:
            os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
            with open(args.out, "a") as handle:
                handle.write(json.dumps(record) + "\n")
    print()
    print(summarize(records, args.methods, args.shots))
    return records


if __name__ == "__main__":
    main()
