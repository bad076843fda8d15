"""Generative transfer (Yamaguchi et al.) on Fashion-MNIST: does PP + P-SSL beat scratch and KD?

Setting (seed 000): no source data, disjoint label spaces, a target architecture
different from the source one. What the target task gets from the source is a
source classifier `C_s` (2 convolutions) and a conditional generator `G_s`
(`keras_transfer.generative.ConditionalVAE`), both trained here once on the
source classes. The target task has `--labels` labelled images per class, a
validation split (`--val-per-class` per class) and the Fashion-MNIST test set
restricted to the target classes. The target network is a different 4-conv
network.

Methods, all with the same labelled images, validation split and weight
initialisation per seed (paired seeds):

- scratch: the target network on the labelled images (weak augmentation).
- kd: `keras_transfer.distill.Distiller(label_space="auxiliary")` from `C_s`.
- pp: `PseudoPretrainer` on `G_s(z, y)`, then `replace_head` and fine-tuning
  as scratch.
- pssl: `FixMatch(pseudo_generator=PseudoSSLGenerator(G_s, C_s))` from scratch.
- pp_pssl: the same FixMatch, started from the pseudo pre-trained network.
- fixmatch_real (reference, not a transfer method): FixMatch with the
  *real* unlabelled target images (the rest of the target training set):
  the ceiling P-SSL's pseudo samples try to approach.

Every run keeps the weights of its best validation accuracy (ties broken by
the validation loss), evaluated every `eval_every` steps (50 for the
supervised runs); the test set is used only to report. Every method trains
`finetune_steps` = `fixmatch_steps` = 1000 steps on the target task (PP's
pre-training comes on top). Hyperparameters are fixed in advance (`FULL`
below), not tuned.

Run (hours of CPU; results are written to the JSON file as they come, and a
rerun skips the runs already there):

    nice -n 10 python benchmarks/generative_transfer.py --split related --labels 5 \
        --output docs/generative_transfer_related.json

Quick smoke run (a minute): `python benchmarks/generative_transfer.py --quick`.
"""

import argparse
import glob
import json
import os
import sys
import string
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_transfer as kt  # noqa: E402

SPLITS = {
    # The calibration: tops and trousers -> footwear, shirt, bag.
    "calibration": ((0, 1, 2, 3, 4), (5, 6, 7, 8, 9)),
    # Chosen before any run so that each target class has a visually related
    # source class: dress/coat/shirt ~ T-shirt/pullover, sandal/ankle boot ~ sneaker.
    "related": ((0, 1, 2, 7, 8), (3, 4, 6, 5, 9)),
    # Source: the 52 letters rendered from the installed fonts; target: the UCI
    # handwritten digits (sklearn). A larger source label space, so that soft
    # labels can describe a target image (0 ~ O/o, 1 ~ l/I, 5 ~ S, 8 ~ B, ...).
    "glyphs": (tuple(string.ascii_uppercase + string.ascii_lowercase), tuple(range(10))),
}
METHODS = ("scratch", "kd", "pp", "pssl", "pp_pssl", "fixmatch_real")
SUPERVISED = ("scratch", "kd", "pp")


def steps_of(method, config):
    """Training steps of a method's target-task run (PP's pre-training not counted)."""
    return config["finetune_steps"] if method in SUPERVISED else config["fixmatch_steps"]

FULL = dict(
    source_epochs=5, generator_epochs=12, generator_beta=2.0, pp_steps=3000, pp_batch=64,
    finetune_steps=1000, fixmatch_steps=1000, eval_every=100, finetune_eval_every=50, batch=25,
    unlabeled_ratio=5, threshold=0.95, unlabeled_weight=1.0, kd_temperature=4.0, kd_alpha=0.5,
    learning_rate=1e-3, source_limit=None,
)
QUICK = dict(
    FULL, source_epochs=1, generator_epochs=1, pp_steps=10, finetune_steps=10, fixmatch_steps=10,
    eval_every=5, finetune_eval_every=5, unlabeled_ratio=2, source_limit=2000,
)


class BestOnValidation(keras.callbacks.Callback):
    """Keeps the weights with the best validation accuracy (ties: lower loss)."""

    def __init__(self):
        super().__init__()
        self.best, self.weights, self.epoch = None, None, None

    def on_epoch_end(self, epoch, logs=None):
        score = (round(float(logs["val_accuracy"]), 6), -float(logs["val_loss"]))
        if self.best is None or score > self.best:
            self.best, self.weights, self.epoch = score, self.model.get_weights(), epoch

    def on_train_end(self, logs=None):
        self.model.set_weights(self.weights)


def source_classifier(num_classes):
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Rescaling(1 / 255.0),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(64, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(num_classes, activation="softmax"),
        ],
        name="source_classifier",
    )


def target_network(num_classes):
    """The target architecture: 4 convolutions with batch normalisation (not the source's)."""
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    for filters in (16, 32):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dropout(0.3)(x)
    x = keras.layers.Dense(64, activation="relu", name="features")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="target_network")


def _to_28(images, high):
    """8x8 images with values in [0, high] -> 28x28 float32 in [0, 255] (bilinear)."""
    x = tf.image.resize(images[..., None].astype("float32") * (255.0 / high), (28, 28), method="bilinear")
    return np.clip(x.numpy(), 0, 255)


def render_glyphs(characters, per_font=12, seed=0):
    """Letters from every installed TrueType font, jittered, reduced like UCI digits.

    Each glyph is drawn, rotated (+-12 degrees), cropped and scaled so its
    longer side fills most of a 32x32 box, then averaged over 4x4 blocks to
    8x8 (the UCI digits' preprocessing) and upsampled to 28x28: both domains
    go through the same 8x8 bottleneck.
    """
    from PIL import Image, ImageDraw, ImageFont

    fonts = sorted(glob.glob("/usr/share/fonts/truetype/**/*.ttf", recursive=True))
    fonts = [f for f in fonts if "Math" not in f]
    if not fonts:
        raise FileNotFoundError("No TrueType fonts under /usr/share/fonts/truetype (apt-get install fonts-dejavu-core).")
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for path in fonts:
        font = ImageFont.truetype(path, 40)
        for label, character in enumerate(characters):
            for _ in range(per_font):
                canvas = Image.new("L", (64, 64), 0)
                draw = ImageDraw.Draw(canvas)
                left, top, right, bottom = draw.textbbox((0, 0), character, font=font)
                draw.text(((64 - right - left) / 2, (64 - bottom - top) / 2), character, fill=255, font=font)
                canvas = canvas.rotate(rng.uniform(-12, 12), resample=Image.BILINEAR)
                glyph = canvas.crop(canvas.getbbox())
                # Size-normalised like the UCI bitmaps: the longer side fills most of the 32x32 box.
                scale = rng.uniform(24, 31) / max(glyph.size)
                width, height = max(1, round(glyph.size[0] * scale)), max(1, round(glyph.size[1] * scale))
                glyph = glyph.resize((width, height), Image.BILINEAR)
                box = Image.new("L", (32, 32), 0)
                offset = ((32 - width) // 2 + int(rng.integers(-1, 2)), (32 - height) // 2 + int(rng.integers(-1, 2)))
                box.paste(glyph, offset)
                block = np.asarray(box, "float32").reshape(8, 4, 8, 4).mean(axis=(1, 3))
                images.append(block)
                labels.append(label)
    order = rng.permutation(len(images))
    return _to_28(np.stack(images)[order], 255.0), np.array(labels)[order]


def load_glyphs():
    from sklearn.datasets import load_digits

    x_letters, y_letters = render_glyphs(SPLITS["glyphs"][0])
    cut = len(x_letters) * 5 // 6
    digits = load_digits()
    order = np.random.default_rng(0).permutation(len(digits.target))
    x_digits, y_digits = _to_28(digits.images[order], 16.0), digits.target[order].astype("int64")
    half = len(order) // 2
    source = (x_letters[:cut], y_letters[:cut], x_letters[cut:], y_letters[cut:])
    target = (x_digits[:half], y_digits[:half], x_digits[half:], y_digits[half:])
    return source, target


def load_split(split, source_limit=None):
    if split == "glyphs":
        source, target = load_glyphs()
        if source_limit:
            source = (source[0][:source_limit], source[1][:source_limit], *source[2:])
        return source, target
    (x, y), (x_test, y_test) = kt.data.load_fashion_mnist()
    x, x_test = x[..., None].astype("float32"), x_test[..., None].astype("float32")
    source, target = SPLITS[split]

    def select(images, labels, classes):
        keep = np.isin(labels, classes)
        relabel = np.zeros(10, "int64")
        relabel[list(classes)] = np.arange(len(classes))
        return images[keep], relabel[labels[keep]]

    xs, ys = select(x, y, source)
    xs_test, ys_test = select(x_test, y_test, source)
    xt, yt = select(x, y, target)
    xt_test, yt_test = select(x_test, y_test, target)
    if source_limit:
        xs, ys = xs[:source_limit], ys[:source_limit]
    return (xs, ys, xs_test, ys_test), (xt, yt, xt_test, yt_test)


def train_source(split, source_data, config, cache):
    """C_s and G_s, trained once per split (seed 0) and cached."""
    xs, ys, xs_test, ys_test = source_data
    num_classes = len(SPLITS[split][0])
    tag = f"{split}{'_quick' if config['source_limit'] else ''}"
    classifier_path = os.path.join(cache, f"source_classifier_{tag}.keras")
    generator_path = os.path.join(cache, f"generator_{tag}.keras")
    keras.utils.set_random_seed(0)
    if os.path.exists(classifier_path):
        classifier = keras.models.load_model(classifier_path)
    else:
        classifier = source_classifier(num_classes)
        classifier.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        classifier.fit(xs, ys, batch_size=128, epochs=config["source_epochs"], verbose=0)
        classifier.save(classifier_path)
    if os.path.exists(generator_path):
        generator = keras.models.load_model(generator_path)
    else:
        generator = kt.generative.ConditionalVAE(
            (28, 28, 1), num_classes, latent_dim=16, beta=config["generator_beta"], seed=0
        )
        generator.compile(keras.optimizers.Adam(1e-3))
        generator.fit(xs, ys, batch_size=128, epochs=config["generator_epochs"], verbose=0)
        generator.save(generator_path)
    source_accuracy = float(np.mean(classifier.predict(xs_test, verbose=0).argmax(-1) == ys_test))
    labels = np.arange(100 * num_classes) % num_classes
    samples = generator.generate(labels, seed=0)
    recognised = float(np.mean(classifier.predict(samples, verbose=0).argmax(-1) == labels))
    return classifier, generator, {"source_test_accuracy": source_accuracy, "generator_recognition": recognised}


def target_sets(target_data, labels_per_class, val_per_class, seed):
    """Labelled / validation / unlabelled indices drawn per seed (disjoint)."""
    xt, yt, xt_test, yt_test = target_data
    rng = np.random.default_rng(1000 + seed)
    labelled, validation = [], []
    for k in range(int(yt.max()) + 1):
        index = rng.permutation(np.flatnonzero(yt == k))
        labelled.extend(index[:labels_per_class])
        validation.extend(index[labels_per_class : labels_per_class + val_per_class])
    used = np.zeros(len(yt), bool)
    used[labelled] = used[validation] = True
    labelled, validation = np.array(labelled), np.array(validation)
    return (xt[labelled], yt[labelled]), (xt[validation], yt[validation]), xt[~used], (xt_test, yt_test)


def labelled_stream(x, y, batch, seed, augment=True):
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed).repeat()
    dataset = dataset.batch(batch, drop_remainder=True)
    if augment:
        layer = kt.layers.WeakAugment(seed=seed)
        dataset = dataset.map(lambda a, b: (layer(a, training=True), b))
    return dataset.prefetch(2)


def fit_selected(model, data, steps, every, validation):
    best = BestOnValidation()
    model.fit(data, steps_per_epoch=every, epochs=max(1, steps // every), validation_data=validation,
              callbacks=[best], verbose=0)
    return best


def accuracy(model, test):
    return float(np.mean(model.predict(test[0], batch_size=500, verbose=0).argmax(-1) == test[1]))


def run_method(method, context, config, seed):
    labelled, validation, unlabelled, test = context["sets"]
    num_classes = int(labelled[1].max()) + 1
    optimizer = lambda: keras.optimizers.Adam(config["learning_rate"])  # noqa: E731
    keras.utils.set_random_seed(seed)
    if method in ("pp", "pp_pssl"):
        network = kt.generative.replace_head(context["pretrained"](), num_classes)
    else:
        network = target_network(num_classes)
    if method in ("scratch", "pp"):
        network.compile(optimizer(), "sparse_categorical_crossentropy", metrics=["accuracy"])
        data = labelled_stream(*labelled, config["batch"], seed)
        best = fit_selected(network, data, config["finetune_steps"], config["finetune_eval_every"], validation)
    elif method == "kd":
        distiller = kt.distill.Distiller(
            network, context["classifier"], label_space="auxiliary", feature_layer="features",
            temperature=config["kd_temperature"], alpha=config["kd_alpha"],
        )
        distiller.compile(optimizer(), metrics=["accuracy"])
        data = labelled_stream(*labelled, config["batch"], seed)
        best = fit_selected(distiller, data, config["finetune_steps"], config["finetune_eval_every"], validation)
    else:
        pseudo = None
        if method != "fixmatch_real":
            pseudo = kt.layers.PseudoSSLGenerator(context["generator"], context["classifier"], seed=seed)
        fixmatch = kt.ssl.FixMatch(
            network, pseudo_generator=pseudo, threshold=config["threshold"],
            unlabeled_ratio=config["unlabeled_ratio"], unlabeled_weight=config["unlabeled_weight"], seed=seed,
        )
        fixmatch.compile(optimizer(), metrics=["accuracy"])
        if pseudo is None:
            data = kt.ssl.ssl_dataset(labelled, unlabelled, batch_size=config["batch"],
                                      unlabeled_ratio=config["unlabeled_ratio"], seed=seed).repeat()
        else:
            data = labelled_stream(*labelled, config["batch"], seed, augment=False)
        best = fit_selected(fixmatch, data, config["fixmatch_steps"], config["eval_every"], validation)
    return {"test_accuracy": accuracy(network, test), "val_accuracy": best.best[0], "best_eval": best.epoch}


def pretrained_factory(context, config, seed, cache_dir):
    """A function returning a fresh copy of this seed's PP network (pre-trained once, cached)."""
    path = os.path.join(cache_dir, f"pp_{context['tag']}_seed{seed}.weights.h5")
    generator = context["generator"]
    weights = {}

    def pretrained():
        keras.utils.set_random_seed(seed)
        network = target_network(generator.num_classes)
        if "value" not in weights:
            if not os.path.exists(path):
                pretrainer = kt.generative.PseudoPretrainer(network, generator, seed=seed)
                pretrainer.compile(keras.optimizers.Adam(config["learning_rate"]), metrics=["accuracy"])
                start = time.time()
                epochs = 5 if config["pp_steps"] >= 5 else 1
                history = pretrainer.fit(batch_size=config["pp_batch"], steps_per_epoch=config["pp_steps"] // epochs,
                                         epochs=epochs, verbose=0)
                context["pp_log"][seed] = {"pseudo_accuracy": history.history["accuracy"][-1],
                                           "seconds": round(time.time() - start, 1)}
                network.save_weights(path)
            network.load_weights(path)
            weights["value"] = network.get_weights()
        network.set_weights(weights["value"])
        return network

    return pretrained


def summarise(results, methods):
    """Markdown tables: accuracy per method, and paired differences of pp_pssl."""
    lines = []
    for labels in sorted({r["labels"] for r in results}):
        rows = [r for r in results if r["labels"] == labels]
        seeds = sorted({r["seed"] for r in rows})
        table = {m: {r["seed"]: r["test_accuracy"] for r in rows if r["method"] == m} for m in methods}
        lines.append(f"\n{labels} labels per class, seeds {seeds}: test accuracy (%) of the best-validation weights\n")
        lines.append("| method | mean +- std | per seed |")
        lines.append("|---|---|---|")
        for m in methods:
            values = [100 * table[m][s] for s in seeds if s in table[m]]
            if values:
                lines.append(f"| {m} | {np.mean(values):.1f} +- {np.std(values):.1f} | "
                             + ", ".join(f"{v:.1f}" for v in values) + " |")
        lines.append("\nPaired differences (method minus baseline, percentage points, mean +- std over seeds):\n")
        lines.append("| comparison | mean +- std | per seed |")
        lines.append("|---|---|---|")
        for a in ("pp", "pssl", "pp_pssl", "fixmatch_real"):
            for b in ("scratch", "kd"):
                common = [s for s in seeds if s in table.get(a, {}) and s in table.get(b, {})]
                if common:
                    d = [100 * (table[a][s] - table[b][s]) for s in common]
                    lines.append(f"| {a} - {b} | {np.mean(d):+.1f} +- {np.std(d):.1f} | "
                                 + ", ".join(f"{v:+.1f}" for v in d) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=sorted(SPLITS), default="related")
    parser.add_argument("--labels", type=int, nargs="+", default=[5, 10])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--val-per-class", type=int, default=20)
    parser.add_argument("--output", default=None, help="JSON file; existing runs in it are skipped (resume).")
    parser.add_argument("--cache", default=os.path.join(os.path.expanduser("~"), ".cache", "keras_transfer_bench"))
    parser.add_argument("--quick", action="store_true", help="tiny smoke run (about a minute)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override a setting")
    args = parser.parse_args(argv)
    config = dict(QUICK if args.quick else FULL)
    for item in args.set:
        key, value = item.split("=", 1)
        config[key] = type(FULL[key])(value) if FULL[key] is not None else int(value)
    if args.quick:
        args.labels, args.seeds = [5], args.seeds[:1]
    os.makedirs(args.cache, exist_ok=True)
    previous = {}
    if args.output and os.path.exists(args.output):
        with open(args.output) as handle:
            previous = json.load(handle)
    results = [r for r in previous.get("runs", []) if not args.quick]
    for run in results:  # records written before "steps" was recorded
        run.setdefault("steps", steps_of(run["method"], previous["config"]))
    done = {(r["labels"], r["seed"], r["method"], r["steps"]) for r in results}
    source_data, target_data = load_split(args.split, config["source_limit"])
    start = time.time()
    classifier, generator, source_report = train_source(args.split, source_data, config, args.cache)
    print(f"source: {source_report} ({time.time() - start:.0f}s)", flush=True)
    context = {"classifier": classifier, "generator": generator, "pp_log": {},
               "tag": args.split + ("_quick" if args.quick else "")}
    for seed in args.seeds:
        context["pretrained"] = pretrained_factory(context, config, seed, args.cache)
        for labels in args.labels:
            context["sets"] = target_sets(target_data, labels, args.val_per_class, seed)
            for method in args.methods:
                if (labels, seed, method, steps_of(method, config)) in done:
                    continue
                tic = time.time()
                run = run_method(method, context, config, seed)
                run.update(labels=labels, seed=seed, method=method, steps=steps_of(method, config),
                           seconds=round(time.time() - tic, 1))
                results.append(run)
                print(json.dumps(run), flush=True)
                if args.output:
                    with open(args.output, "w") as handle:
                        json.dump({"split": args.split, "config": config, "source": source_report,
                                   "pp": context["pp_log"], "runs": results}, handle, indent=1)
    current = [r for r in results if r["steps"] == steps_of(r["method"], config)]
    print(summarise(current, args.methods))
    return {"source": source_report, "runs": results, "config": config}


if __name__ == "__main__":
    main()
