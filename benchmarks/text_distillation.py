"""Text distillation: a small transformer taught by a fine-tuned MiniLM, with few labels.

Task: Debian fortune cookies in six topics (`keras_transfer.data.load_fortunes`),
K=16 labelled texts per class, 10 per class for validation (best epoch), 50 per
class for the test. Every other fortune (about 2,000 texts, topics in their
natural proportions) is the unlabelled transfer set. Splits are drawn per seed;
every method of a seed sees the same split.

Models:
  teacher              all-MiniLM-L6-v2 (22.7M weights) fine-tuned with layer-wise
                       decay (0.8) on the labelled texts: `benchmarks/text_transfer.py`
  student              a 2-layer BERT, hidden 128 (4.3M weights), random weights,
                       MiniLM's tokenizer (so the pipeline tokenizes once)

Student training (each selects its best epoch on validation accuracy):
  student_labels       the labelled texts only (cross-entropy)
  kd_labels            kt.distill.Distiller, alpha=0.5, T=2, on the labelled texts
  kd_transfer_set      kt.distill.Distiller, alpha=1, T=2, on the transfer set and the
                       labelled texts, labels unused

Also printed: texts per second through `predict` (batch 64, tokenization
included) for teacher and student on the transfer set, measured in the same run.

Run (about 35 minutes on two CPU cores, 11 per seed):

    nice -n 10 python benchmarks/text_distillation.py --out benchmarks/results/text_distillation.jsonl
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
from benchmarks import text_transfer
from keras_transfer.text import demo

SHOTS = 16
METHODS = ("teacher", "student_labels", "kd_labels", "kd_transfer_set")
TEMPERATURE = 2.0


def student_model(teacher, num_classes, seed):
    """A 2-layer BERT with random weights reading the teacher's tokens."""
    import keras_hub

    keras.utils.set_random_seed(seed)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=teacher.backbone.vocabulary_size, num_layers=2, num_heads=2, hidden_dim=128,
        intermediate_dim=512, max_sequence_length=demo.DEMO_SEQUENCE_LENGTH, dropout=0.1,
    )
    return kt.models.TextClassifier(backbone, teacher.preprocessor, num_classes, name="student")


def train_student(model, task, *, teacher=None, alpha=None, transfer_texts=None, epochs, seed):
    """Trains `model` (alone, or distilled from `teacher`); returns test accuracy and the best epoch."""
    keras.utils.set_random_seed(seed)
    optimizer = keras.optimizers.AdamW(5e-4)
    trainer = model
    if teacher is not None:
        trainer = kt.distill.Distiller(model, teacher, label_space="shared", alpha=alpha, temperature=TEMPERATURE)
        trainer.compile(optimizer, metrics=["accuracy"])
    else:
        model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    (x, y), validation, (tx, ty) = task["train"], task["validation"], task["test"]
    if transfer_texts is None:
        history = trainer.fit(x, y, validation_data=validation, epochs=epochs, batch_size=16, verbose=0,
                              callbacks=[demo.best_epoch_callback()])
    else:
        history = trainer.fit(list(transfer_texts), validation_data=validation, epochs=epochs, batch_size=32,
                              verbose=0, callbacks=[demo.best_epoch_callback()])
    best = int(np.argmax(history.history["val_accuracy"]))
    accuracy = float(np.mean(model.predict(tx, batch_size=64, verbose=0).argmax(-1) == ty))
    return accuracy, {"best_epoch": best + 1, "val_accuracy": float(history.history["val_accuracy"][best])}


def predictions_per_second(model, texts):
    """Texts per second through `predict` (tokenization included), after a warm-up pass."""
    model.predict(texts, batch_size=64, verbose=0)
    start = time.perf_counter()
    model.predict(texts, batch_size=64, verbose=0)
    return len(texts) / (time.perf_counter() - start)


def run_seed(seed, all_texts, quick):
    task = demo.few_shot_task(SHOTS, seed, test_per_class=10 if quick else 50)
    held_out = set(task["validation"][0]) | set(task["test"][0])
    transfer = [t for t in all_texts if t not in held_out]
    if quick:
        transfer = transfer[:64]
    records = []

    def record(method, accuracy, start, **extra):
        records.append({"method": method, "shots": SHOTS, "seed": seed, "accuracy": accuracy,
                        "seconds": round(time.time() - start, 1), **extra})
        print(json.dumps(records[-1]), flush=True)

    start = time.time()
    teacher, info = text_transfer.finetuned(
        task, SHOTS, seed, pretrained=True, decay=text_transfer.DECAY, epochs=1 if quick else None
    )
    tx, ty = task["test"]
    record("teacher", float(np.mean(teacher.predict(tx, batch_size=64, verbose=0).argmax(-1) == ty)), start, **info)
    classes = len(task["topics"])
    epochs = {"student_labels": 40, "kd_labels": 40, "kd_transfer_set": 12}
    for method in METHODS[1:]:
        start = time.time()
        student = student_model(teacher, classes, seed)
        kwargs = {}
        if method != "student_labels":
            kwargs = {"teacher": teacher, "alpha": 0.5 if method == "kd_labels" else 1.0}
        if method == "kd_transfer_set":
            kwargs["transfer_texts"] = transfer
        accuracy, info = train_student(student, task, epochs=1 if quick else epochs[method], seed=seed, **kwargs)
        if method == "kd_transfer_set":
            info["transfer_texts"] = len(transfer)
        record(method, accuracy, start, **info)
    speed = {
        "teacher_weights": teacher.count_params(),
        "student_weights": student.count_params(),
        "speed_texts": len(transfer),
        "teacher_texts_per_s": round(predictions_per_second(teacher, transfer), 1),
        "student_texts_per_s": round(predictions_per_second(student, transfer), 1),
    }
    print(json.dumps({"seed": seed, **speed}), flush=True)
    return records, speed


def summarize(records, speeds):
    lines = ["| method | test accuracy (%) | seeds |", "|---|---|---|"]
    by_method = {}
    for r in records:
        by_method.setdefault(r["method"], {})[r["seed"]] = r["accuracy"]
    for method in METHODS:
        values = list(by_method.get(method, {}).values())
        if values:
            lines.append(f"| {method} | {100 * np.mean(values):.1f} ± {100 * np.std(values):.1f} | {len(values)} |")
    lines += ["", "Paired differences (same seed and split), accuracy points:", ""]
    for a, b in (("kd_labels", "student_labels"), ("kd_transfer_set", "student_labels"), ("teacher", "kd_transfer_set")):
        seeds = sorted(set(by_method.get(a, {})) & set(by_method.get(b, {})))
        diffs = [100 * (by_method[a][s] - by_method[b][s]) for s in seeds]
        if diffs:
            lines.append(f"- {a} − {b}: {np.mean(diffs):+.1f} ± {np.std(diffs):.1f} (n={len(diffs)})")
    if speeds:
        ratio = np.mean([s["student_texts_per_s"] / s["teacher_texts_per_s"] for s in speeds])
        first = speeds[0]
        lines += ["", f"Weights: teacher {first['teacher_weights']:,}, student {first['student_weights']:,} "
                  f"({first['teacher_weights'] / first['student_weights']:.1f}x fewer). Predictions per second "
                  f"(`predict`, batch 64, CPU): student / teacher = {ratio:.1f}x (mean over {len(speeds)} runs)."]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default="benchmarks/results/text_distillation.jsonl")
    parser.add_argument("--quick", action="store_true", help="one seed, 1 epoch each, small splits (smoke test)")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds = [0]
    warnings.filterwarnings("ignore", message=".*are truncated to sequence_length.*")
    texts, labels, topics = kt.data.load_fortunes()
    print(f"fortunes: {len(texts)} texts, topics {topics}, class sizes {np.bincount(labels).tolist()}", flush=True)
    records, speeds = [], []
    for seed in args.seeds:
        seed_records, speed = run_seed(seed, list(texts), args.quick)
        records += seed_records
        speeds.append(speed)
        if not args.quick:
            os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
            with open(args.out, "a") as handle:
                for line in seed_records + [{"seed": seed, **speed}]:
                    handle.write(json.dumps(line) + "\n")
    print()
    print(summarize(records, speeds))
    return records


if __name__ == "__main__":
    main()
