"""`keras-transfer fit`: strategies by name on a dataset, with a report folder."""

import ast
import json
import os
import sys
import time

import numpy as np

from keras_transfer.cli import _data
from keras_transfer.cli import _report

CLI_INPUTS = {
    "source": "--source DATA (labelled source examples), or x_source/y_source arrays in the .npz",
    "target": "--target DATA (unlabelled target inputs), or an x_target array in the .npz",
}


class UsageError(ValueError):
    """A command-line argument that cannot be used; the message says why."""


def parse_options(items, specs):
    """`["alpha=0.5", ...]` -> `{strategy name: {option: value}}` for the strategies that take each option."""
    per_strategy = {spec.name: {} for spec in specs}
    for item in items or ():
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--option expects KEY=VALUE; received {item!r}.")
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = text  # a bare word: a string option
        takers = [spec.name for spec in specs if key in spec.options]
        if not takers:
            known = sorted({option for spec in specs for option in spec.options})
            raise UsageError(f"--option {key}: no selected strategy takes it; their options: {', '.join(known) or 'none'}.")
        for name in takers:
            per_strategy[name][key] = value
    return per_strategy


def backbone_from(text, *, texts=False):
    """A backbone argument: a saved `.keras` model, a keras-hub preset directory or name, or a registered name.

    For text strategies it is a text preset (name or directory, checked by
    `build_text_classifier`, whose error says where it looked).
    """
    if texts:
        return text
    from keras_transfer.backbones.resolve import resolve_backbone

    try:
        resolved = resolve_backbone(text, argument="--backbone")
    except ValueError as error:
        raise UsageError(str(error)) from None
    return resolved.model if resolved.kind == "model" else text


def inputs_for(spec, main, source, target):
    """The `data`/`source`/`target` arguments of `transfer` for one strategy, from the loaded datasets."""
    labelled = (main.x_train, main.y_train)
    kwargs = {}
    if "data" in spec.requires:  # the labelled examples are the target task's (and CCSA's few target labels)
        kwargs["data"] = labelled
        x_s = source.x_train if source is not None else main.x_source
        y_s = source.y_train if source is not None else main.y_source
        if "source" in spec.accepts and x_s is not None:
            kwargs["source"] = (x_s, y_s)
    else:  # domain adaptation: the labelled examples are the source domain (a few target labels: from Python)
        kwargs["source"] = labelled
    x_t = target.x_train if target is not None else main.x_target
    if "target" in spec.accepts and x_t is not None:
        kwargs["target"] = x_t
    for name in spec.requires:
        if name not in kwargs:
            raise UsageError(f"strategy {spec.name!r} needs {CLI_INPUTS[name]}.")
    return kwargs


def run(args, progress):
    """Runs `keras-transfer fit`; returns the exit status."""
    import keras_transfer as kt

    if _report.refuse_overwrite(args.out, args.overwrite, sys.stderr):
        return 2
    try:
        specs = [kt.strategies.get_strategy(name) for name in args.strategy]
    except ValueError as error:
        raise UsageError(f"--strategy: {error}") from None
    kinds = {spec.inputs for spec in specs}
    if len(kinds) > 1:
        by_kind = {kind: [spec.name for spec in specs if spec.inputs == kind] for kind in sorted(kinds)}
        raise UsageError(f"--strategy mixes strategies that take different inputs: {by_kind}; run them separately.")
    (kind,) = kinds
    if kind not in ("images", "texts"):
        raise UsageError(
            f"--strategy {specs[0].name}: it takes {kind}, and this command reads images or texts; "
            f"call keras_transfer.transfer({specs[0].name!r}, ...) from Python instead."
        )
    texts = kind == "texts"
    if len(set(args.strategy)) != len(args.strategy):
        raise UsageError(f"--strategy names a strategy twice: {args.strategy}.")
    options = parse_options(args.option, specs)
    backbone = backbone_from(args.backbone, texts=texts)
    # A saved backbone that takes one channel reads directories in grayscale, as `evaluate` does.
    grayscale = args.grayscale or (not texts and not isinstance(backbone, str) and backbone.input_shape[-1] == 1)
    load = dict(image_size=args.image_size, grayscale=grayscale, download=args.download, data_dir=args.data_dir, strict=args.strict,
                texts=texts)
    main = _data.load(args.data, argument="data", **load)
    if main.x_train is None:
        raise UsageError(f"data: {args.data} has no training examples (x_train/y_train, or a train split).")
    if main.y_train is None:
        raise UsageError(f"data: {args.data} has no labels (y_train).")
    size = None if texts else args.image_size or main.x_train.shape[1:3]
    source = None if args.source is None else _data.load(args.source, argument="--source", **dict(load, image_size=size))
    target = None if args.target is None else _data.load(args.target, argument="--target", labels=False, **dict(load, image_size=size))
    x_train, y_train = main.x_train, main.y_train
    if main.x_val is not None:
        x_val, y_val, validation = main.x_val, main.y_val, "the validation arrays of the data"
    else:
        x_train, y_train, x_val, y_val = _data.split_validation(x_train, y_train, args.validation_split, args.seed)
        validation = f"{args.validation_split:.0%} of the labelled examples held out (seed {args.seed})"
    main.x_train, main.y_train = x_train, y_train
    plan = [(spec, inputs_for(spec, main, source, target)) for spec in specs]
    weights = None if args.weights == "none" else args.weights

    with _report.staged(args.out) as folder:
        runs = _train_all(plan, folder, backbone, (x_val, y_val), weights, options, args, progress, main.class_names)
        summary = {
            "command": "keras-transfer " + " ".join(args.argv), "data": main.description, "validation": validation,
            "backbone": args.backbone, "class_names": main.class_names,
            "num_classes": int(max(y_train.max(), y_val.max()) + 1),
            "train_examples": int(len(x_train)), "val_examples": int(len(x_val)), "runs": runs,
        }
        write_report(summary, folder)
    report = os.path.join(args.out, "README.md")
    print(f"\nReport: {report}")
    for run_ in runs:
        print(f"  {run_['strategy']}: validation accuracy {run_['val_accuracy']:.3f} -> {os.path.join(args.out, run_['model'])}")
    return 0


def _train_all(plan, folder, backbone, validation_data, weights, options, args, progress, class_names=None):
    """Runs each `(strategy, inputs)` of `plan`, saving its model in `folder`; returns the runs' records."""
    import keras

    import keras_transfer as kt

    x_val, y_val = validation_data
    bar = progress(len(plan))
    runs = []
    for index, (spec, inputs) in enumerate(plan):
        print(f"\n[{index + 1}/{len(plan)}] {spec.name}: {spec.when}", flush=True)
        start = time.time()
        result = kt.transfer(
            spec.name, backbone, **inputs, validation_data=validation_data,
            epochs=args.epochs if spec.trains else None, batch_size=args.batch_size,
            learning_rate=args.learning_rate if spec.trains else None, weights=weights, preprocessing=args.preprocessing,
            build_options={"adapt_input": True} if args.adapt_input else None, seed=args.seed,
            verbose=args.verbose, num_classes=len(class_names) if class_names else None,
            callbacks=[keras.callbacks.TerminateOnNaN()], **options[spec.name],
        )
        seconds = time.time() - start
        _check_finite(spec.name, result)
        model_path = os.path.join(folder, f"{spec.name}.keras")
        if class_names and hasattr(type(result.model), "class_names"):
            result.model.class_names = class_names  # saved in the model's config: evaluate and export read them
        result.model.save(model_path)
        accuracy = float(np.mean(result.model.predict(x_val, verbose=0).argmax(-1) == y_val))
        runs.append({
            "strategy": spec.name, "paper": spec.paper, "val_accuracy": accuracy, "seconds": seconds,
            "model": os.path.basename(model_path),
            "history": {k: [float(v) for v in vs] for k, vs in result.history.history.items()},
        })
        bar.update(index + 1, values=[("val_accuracy", accuracy)])
        keras.backend.clear_session()
    return runs


def _check_finite(name, result):
    """Refuses a run whose loss or weights are not finite (nothing is saved for it)."""
    losses = np.asarray(result.history.history.get("loss", []), dtype="float64")
    bad_weights = any(not np.all(np.isfinite(w)) for w in result.model.get_weights() if np.issubdtype(w.dtype, np.floating))
    if bad_weights or not np.all(np.isfinite(losses)):
        epoch = int(np.argmax(~np.isfinite(losses))) + 1 if not np.all(np.isfinite(losses)) else len(losses)
        raise UsageError(f"--strategy {name}: the training loss became NaN or infinite (epoch {epoch}), so training "
                         "stopped and no model or report was written. Lower --learning-rate, or check the data.")


def plot_learning_curves(runs, path):
    """Loss and accuracy per epoch, training (solid) and validation (dashed), one colour per strategy."""
    plt = _report.pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for i, run_ in enumerate(runs):
        history = run_["history"]
        for ax, metric in zip(axes, ("loss", "accuracy")):
            for prefix, style in (("", "-"), ("val_", "--")):
                values = history.get(prefix + metric)
                if values:
                    epochs = np.arange(1, len(values) + 1)
                    label = f"{run_['strategy']} ({'validation' if prefix else 'training'})"
                    ax.plot(epochs, values, style, marker="o", markersize=3, color=f"C{i}", label=label)
    from matplotlib.ticker import MaxNLocator

    for ax, metric in zip(axes, ("loss", "accuracy")):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
    axes[1].set_ylim(0, 1.02)
    axes[1].legend(fontsize=7)
    return _report.save(figure, path)


def write_report(summary, out_dir):
    """README.md, learning_curves.png, comparison.png (several strategies) and results.json in `out_dir`."""
    runs = summary["runs"]
    curves = plot_learning_curves(runs, os.path.join(out_dir, "learning_curves.png"))
    lines = [
        "# keras-transfer fit",
        "",
        f"Command: `{summary['command']}`",
        "",
        f"Data: {summary['data']}; {summary['train_examples']} training examples, {summary['num_classes']} classes. "
        f"Validation: {summary['validation']} ({summary['val_examples']} examples). Backbone: `{summary['backbone']}`.",
        "",
        "| strategy | validation accuracy | time (s) | model | paper |",
        "|---|---:|---:|---|---|",
    ]
    for run_ in runs:
        lines.append(
            f"| {run_['strategy']} | {run_['val_accuracy']:.3f} | {run_['seconds']:.1f} | [{run_['model']}]({run_['model']}) | {run_['paper']} |"
        )
    lines += ["", f"Chance: {1 / summary['num_classes']:.3f}. One run per strategy (one seed): differences of a few "
              "points are within seed noise; rerun with other `--seed` values before concluding.", ""]
    if len(runs) > 1:
        comparison = _report.bar_chart(
            {run_["strategy"]: run_["val_accuracy"] for run_ in runs}, os.path.join(out_dir, "comparison.png"),
            ylabel="validation accuracy", title="Strategies compared", chance=1 / summary["num_classes"],
            size=(1.2 * len(runs) + 3, 3.5),
        )
        lines += [f"![strategy comparison]({os.path.basename(comparison)})", ""]
    lines += [f"![learning curves]({os.path.basename(curves)})", ""]
    with open(os.path.join(out_dir, "results.json"), "w") as handle:
        json.dump(summary, handle, indent=1)
    return _report.write_markdown(out_dir, lines)
