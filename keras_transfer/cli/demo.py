"""The offline demo: transfer learning on real data, with honest numbers.

Image part (Fashion-MNIST, offline): a small CNN is pretrained on classes 0-4
(the source task, 30,000 images) and transferred to classes 5-9 (the target
task) with only `k` labelled images per class. Methods: training from scratch,
feature extraction (frozen source backbone + new head), fine-tuning (all
layers), and gradual unfreezing with discriminative learning rates
(`FreezeSchedule` + `DiscriminativeLR`). Accuracy is measured on the 5,000
target test images, over paired seeds (each seed draws the same labelled
images for every method).
"""

import dataclasses
import os
import time

import numpy as np

from keras_transfer.cli import _report

KERAS_QUIET = {"verbose": 0}


def small_cnn(input_shape=(28, 28, 1), name="small_cnn"):
    """The demo's backbone: three conv blocks, no BatchNorm (a handful of
    labelled images cannot estimate batch statistics, which would handicap
    training from scratch)."""
    import keras

    inputs = keras.Input(input_shape)
    x = inputs
    for block, filters in enumerate((32, 64, 128), start=1):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"block{block}_conv")(x)
        if block < 3:
            x = keras.layers.MaxPooling2D(name=f"block{block}_pool")(x)
    return keras.Model(inputs, x, name=name)


def pretrain_source(x_train, y_train, *, images=None, epochs=1, seed=1234, learning_rate=1e-3, verbose=0):
    """The source model: `small_cnn` + a 5-way head trained on Fashion-MNIST classes 0-4.

    `x_train`: `(n, 28, 28, 1)` float32 images in [0, 255], `y_train` their
    labels (0-9; only classes 0-4 are used, the first `images` of them).
    """
    import keras

    import keras_transfer as kt

    keras.utils.set_random_seed(seed)
    model = kt.build_classifier(small_cnn(), 5, input_shape=(28, 28, 1), preprocessing="unit", freeze=False)
    model.compile(keras.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy", metrics=["accuracy"])
    old = y_train < 5
    model.fit(x_train[old][:images], y_train[old][:images], epochs=epochs, batch_size=128, verbose=verbose)
    return model


@dataclasses.dataclass
class DemoConfig:
    labels_per_class: tuple = (1, 5)
    seeds: tuple = (0, 1, 2)
    source_epochs: int = 2
    target_steps: int = 80
    batch_size: int = 32
    learning_rate: float = 1e-3
    # A head trained alone on frozen features needs a larger rate (fastai's default for the
    # frozen stage): at 1e-3 it underfits in 80 steps.
    head_learning_rate: float = 1e-2

    @classmethod
    def quick(cls):
        return cls(labels_per_class=(5,), seeds=(0,), source_epochs=1, target_steps=20)

    @classmethod
    def full(cls):
        return cls(labels_per_class=(1, 3, 5, 10, 20), seeds=tuple(range(5)), source_epochs=3, target_steps=150)


METHODS = ("scratch", "feature_extraction", "fine_tune", "gradual_discriminative")
METHOD_LABELS = {
    "scratch": "from scratch",
    "feature_extraction": "feature extraction (frozen)",
    "fine_tune": "fine-tuning (all layers)",
    "gradual_discriminative": "gradual unfreezing + discriminative LR",
}


def _few_labels(x, y, k, seed, num_classes):
    rng = np.random.default_rng(seed)
    index = np.concatenate([rng.choice(np.flatnonzero(y == c), k, replace=False) for c in range(num_classes)])
    return x[index], y[index]


def fashion_target_task(x_train, y_train, x_test, y_test, per_class=20, seed=0):
    """The examples' target task: `per_class` labelled training images of each of classes 5-9, and their test images.

    Returns `((x_few, y_few), (x_eval, y_eval))`, labels 0-4.
    """
    new = y_train >= 5
    few = _few_labels(x_train[new], y_train[new] - 5, per_class, seed, 5)
    return few, (x_test[y_test >= 5], y_test[y_test >= 5] - 5)


def _dataset(x, y, batch_size, seed):
    import tensorflow as tf

    return (
        tf.data.Dataset.from_tensor_slices((x, y))
        .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        .repeat()
        .batch(min(batch_size, len(x)))
        .prefetch(tf.data.AUTOTUNE)
    )


def run_image_demo(config=None, progress=None, log=print):
    """Runs the Fashion-MNIST transfer experiment; returns a result dict."""
    import keras

    import keras_transfer as kt

    config = config or DemoConfig()
    (x_train, y_train), (x_test, y_test) = kt.data.load_fashion_mnist()
    x_train = x_train[..., None].astype("float32")
    x_test = x_test[..., None].astype("float32")
    source, target, target_test = y_train < 5, y_train >= 5, y_test >= 5

    start = time.time()
    log(f"Pretraining the source CNN on Fashion-MNIST classes 0-4 ({int(source.sum()):,} images, "
        f"{config.source_epochs} epochs)...")
    source_model = pretrain_source(x_train, y_train, epochs=config.source_epochs, learning_rate=config.learning_rate,
                                   verbose=1 if progress is not None else 0)
    source_accuracy = source_model.evaluate(x_test[y_test < 5], y_test[y_test < 5], verbose=0, batch_size=1000)[1]
    source_seconds = time.time() - start
    log(f"Source accuracy on its own test set: {source_accuracy:.3f} ({source_seconds:.0f} s)")

    x_target, y_target = x_train[target], y_train[target] - 5
    x_eval, y_eval = x_test[target_test], y_test[target_test] - 5
    runs = [(k, seed, method) for k in config.labels_per_class for seed in config.seeds for method in METHODS]
    bar = progress(len(runs)) if progress is not None else None
    scores = {}
    for i, (k, seed, method) in enumerate(runs):
        x_few, y_few = _few_labels(x_target, y_target, k, seed, 5)
        keras.utils.set_random_seed(seed)
        if method == "scratch":
            model = kt.build_classifier(small_cnn(), 5, input_shape=(28, 28, 1), preprocessing="unit", freeze=False)
        else:
            model = kt.build_classifier(small_cnn(), 5, input_shape=(28, 28, 1), preprocessing="unit",
                                        weights=source_model.backbone, freeze=method != "fine_tune")
        rate = config.head_learning_rate if method == "feature_extraction" else config.learning_rate
        model.compile(keras.optimizers.Adam(rate), "sparse_categorical_crossentropy", metrics=["accuracy"])
        data = _dataset(x_few, y_few, config.batch_size, seed)
        if method == "gradual_discriminative":
            # Head alone for a quarter of the steps, then everything, deeper groups slower.
            callbacks = [kt.callbacks.FreezeSchedule({1: "all"}), kt.callbacks.DiscriminativeLR(decay=0.3)]
            model.fit(data, epochs=4, steps_per_epoch=max(1, config.target_steps // 4), callbacks=callbacks, shuffle=False,
                      **KERAS_QUIET)
        else:
            model.fit(data, epochs=1, steps_per_epoch=config.target_steps, shuffle=False, **KERAS_QUIET)
        accuracy = float(model.evaluate(x_eval, y_eval, verbose=0, batch_size=1000)[1])
        scores.setdefault((k, method), []).append(accuracy)
        if bar is not None:
            bar.update(i + 1, values=[("accuracy", accuracy)])
        keras.backend.clear_session()
    return {
        "source_accuracy": float(source_accuracy),
        "source_seconds": source_seconds,
        "scores": scores,
        "config": dataclasses.asdict(config),
        "seconds": time.time() - start,
    }


def summarize(result):
    """Markdown table: mean ± std per method and label budget, and the paired
    difference to training from scratch (mean ± std over seeds)."""
    scores = result["scores"]
    budgets = sorted({k for k, _ in scores})
    lines = [
        "| labels / class | method | target accuracy | vs scratch (paired) |",
        "|---:|---|---:|---:|",
    ]
    for k in budgets:
        scratch = np.asarray(scores[(k, "scratch")])
        for method in METHODS:
            values = np.asarray(scores[(k, method)])
            cell = f"{values.mean():.3f} ± {values.std():.3f}"
            diff = values - scratch
            versus = "—" if method == "scratch" else f"{diff.mean():+.3f} ± {diff.std():.3f}"
            lines.append(f"| {k} | {METHOD_LABELS[method]} | {cell} | {versus} |")
    return "\n".join(lines)


def plot(result, path):
    plt = _report.pyplot()
    scores = result["scores"]
    budgets = sorted({k for k, _ in scores})
    figure, axes = plt.subplots(figsize=(7, 4))
    width = 0.8 / len(METHODS)
    for i, method in enumerate(METHODS):
        means = [np.mean(scores[(k, method)]) for k in budgets]
        stds = [np.std(scores[(k, method)]) for k in budgets]
        positions = np.arange(len(budgets)) + (i - (len(METHODS) - 1) / 2) * width
        axes.bar(positions, means, width, yerr=stds, capsize=3, label=METHOD_LABELS[method])
    axes.set_xticks(np.arange(len(budgets)))
    axes.set_xticklabels([f"{k} label{'s' if k > 1 else ''}/class" for k in budgets])
    axes.set_ylabel("target test accuracy")
    axes.set_ylim(0, 1.15)
    axes.axhline(0.2, color="gray", linestyle=":", linewidth=1)
    axes.set_title("Fashion-MNIST classes 0-4 -> 5-9 (small CNN)")
    axes.legend(fontsize=8, loc="upper left", ncol=2)
    return _report.save(figure, path)


def text_section(text, out_dir):
    """Markdown (and a bar plot) for the result of `keras_transfer.text.run_text_demo`."""
    accuracy = text["accuracy"]
    labels = {"scratch": "from scratch\n(word embeddings)", "pretrained_frozen": "pretrained MiniLM,\nfrozen + new head"}
    image = _report.bar_chart(
        {labels[k]: v for k, v in accuracy.items()}, os.path.join(out_dir, "text_transfer.png"),
        ylabel="test accuracy", title=f"Fortune topics, {text['shots']} labelled texts per class", chance=text["chance"],
    )
    lines = [
        f"## Text: {len(text['topics'])} topics of Debian fortune cookies, {text['shots']} labelled texts per class",
        "",
        "| model | test accuracy |",
        "|---|---:|",
        f"| from scratch (word embeddings + softmax) | {accuracy['scratch']:.3f} |",
        f"| pretrained all-MiniLM-L6-v2, frozen, new softmax head | {accuracy['pretrained_frozen']:.3f} |",
        f"| chance | {text['chance']:.3f} |",
        "",
        f"Test set: {text['test_size']} texts; both selected on a validation split (best epoch).",
        "",
        f"![text transfer]({os.path.basename(image)})",
        "",
    ]
    return "\n".join(lines), image


def write_report(result, out_dir, extra_sections=()):
    os.makedirs(out_dir, exist_ok=True)
    image = plot(result, os.path.join(out_dir, "image_transfer.png"))
    config = result["config"]
    text = [
        "# keras_transfer demo",
        "",
        "## Images: Fashion-MNIST classes 0-4 -> 5-9",
        "",
        f"Source: small CNN trained on classes 0-4 ({config['source_epochs']} epochs), "
        f"accuracy {result['source_accuracy']:.3f} on its test set. Target: classes 5-9 with k labelled "
        f"images per class, {config['target_steps']} steps of Adam at {config['learning_rate']:g} "
        f"({config['head_learning_rate']:g} for the head alone of feature extraction), seeds {list(config['seeds'])}; "
        "no model selection (fixed steps); accuracy on the 5,000 target test images.",
        "",
        summarize(result),
        "",
        f"![image transfer]({os.path.basename(image)})",
        "",
        *extra_sections,
    ]
    return _report.write_markdown(out_dir, text), image
