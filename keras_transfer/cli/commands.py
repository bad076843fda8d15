"""`keras-transfer evaluate`, `adapt`, `export` and `strategies` (`bench` is `keras_transfer_cli.bench`)."""

import os
import sys

import numpy as np

from keras_transfer.cli import _data
from keras_transfer.cli.fit import UsageError


def _load_model(path):
    import keras

    if not os.path.isfile(path):
        raise UsageError(f"model: no such file: {path!r} (a model saved by `keras-transfer fit`, or any .keras file).")
    if not path.endswith(".keras"):
        raise UsageError(f"model: {path!r} is not a .keras file.")
    # The commands only predict: no optimizer is rebuilt (Keras would warn that its state does not fit).
    return keras.models.load_model(path, compile=False)


def evaluate(args):
    """Accuracy (and cross-entropy) of a saved model on a labelled dataset; returns the exit status."""
    from keras_transfer.text.text_models import is_text_model

    model = _load_model(args.model)
    texts = is_text_model(model)
    if texts:
        arrays = _data.load(args.data, argument="data", texts=True, download=args.download, data_dir=args.data_dir, strict=args.strict)
    else:
        height, width, channels = model.input_shape[1:]
        arrays = _data.load(args.data, argument="data", image_size=(height, width), grayscale=channels == 1,
                            download=args.download, data_dir=args.data_dir, strict=args.strict)
    split = args.split
    if split == "auto":
        split = next((s for s in ("test", "val", "train") if getattr(arrays, f"y_{s}") is not None), None)
    x, y = getattr(arrays, f"x_{split}", None), getattr(arrays, f"y_{split}", None)
    if x is None or y is None:
        raise UsageError(f"data: {args.data} has no labelled '{split}' examples.")
    if not texts and tuple(x.shape[1:]) != tuple(model.input_shape[1:]):
        raise UsageError(f"data: images of shape {tuple(x.shape[1:])}, but the model takes {tuple(model.input_shape[1:])}.")
    y = _labels_in_model_order(y, arrays.class_names, getattr(model, "class_names", None), args.data)
    probabilities = model.predict(x, batch_size=args.batch_size, verbose=args.verbose)
    if probabilities.ndim != 2 or probabilities.shape[1] <= int(y.max()):
        raise UsageError(f"data: labels up to {int(y.max())}, but the model has {probabilities.shape[-1]} outputs.")
    accuracy = float(np.mean(probabilities.argmax(-1) == y))
    loss = float(-np.mean(np.log(np.clip(probabilities[np.arange(len(y)), y], 1e-7, 1.0))))
    where = f"split '{split}'" if arrays.splits else "all labelled examples"
    print(f"{os.path.basename(args.model)} on {arrays.description}, {where} ({len(y)} examples):")
    print(f"accuracy: {accuracy:.4f}")
    print(f"cross-entropy: {loss:.4f}")
    return 0


def _labels_in_model_order(y, data_names, model_names, data):
    """`y` renumbered to the model's class order, after checking that the data's classes are the model's."""
    if not data_names or not model_names:
        return y
    data_names, model_names = list(data_names), list(model_names)
    if sorted(data_names) != sorted(model_names):
        unknown = [name for name in data_names if name not in model_names]
        raise UsageError(f"data: {data} has classes {data_names}, the model {model_names}"
                         + (f" (not the model's: {unknown})" if unknown else "")
                         + "; evaluate on data of the classes the model was trained on.")
    return np.array([model_names.index(data_names[label]) for label in y], dtype="int64")


def adapt(args):
    """Adapts a saved source model to unlabelled target inputs (bn_adapt, tent, shot); saves the adapted model."""
    import keras_transfer as kt
    from keras_transfer.cli.fit import parse_options

    spec = kt.strategies.get_strategy(args.strategy)
    if spec.starts_from != "source_model":
        names = ", ".join(s.name for s in kt.strategies.list_strategies() if s.starts_from == "source_model")
        raise UsageError(f"--strategy {args.strategy}: `adapt` runs the strategies that adapt a trained model ({names}); "
                         "train from a backbone with `keras-transfer fit`.")
    if not args.out.endswith(".keras"):
        raise UsageError(f"--out: {args.out!r} is not a .keras file name.")
    if os.path.exists(args.out) and not args.overwrite:
        raise UsageError(f"--out: {args.out} exists; pass --overwrite to replace it.")
    options = parse_options(args.option, [spec])[spec.name]
    model = _load_model(args.model)
    height, width, channels = model.input_shape[1:]
    target = _data.load(args.target, argument="target", labels=False, image_size=(height, width),
                        grayscale=channels == 1, download=args.download, data_dir=args.data_dir, strict=args.strict)
    x = target.x_train if target.x_train is not None else target.x_target
    if x is None:
        raise UsageError(f"target: {args.target} has no inputs (x_train or x_target).")
    result = kt.transfer(
        spec.name, source_model=model, target=x, epochs=args.epochs, batch_size=args.batch_size,
        learning_rate=args.learning_rate, verbose=args.verbose, seed=args.seed, **options,
    )
    from keras_transfer.export import save_model

    save_model(result.model, args.out, overwrite=True)  # written beside, renamed into place: a kill leaves no half file
    print(f"{spec.name}: {os.path.basename(args.model)} adapted to {target.description} ({len(x)} inputs).")
    print(f"Adapted model written to {args.out} (it predicts class probabilities from the same raw inputs).")
    return 0


def export(args):
    from keras_transfer.export import export_saved_model

    model = _load_model(args.model)
    if os.path.exists(args.path) and os.listdir(args.path) and not args.overwrite:
        print(f"error: {args.path} exists and is not empty; pass --overwrite to replace it.", file=sys.stderr)
        return 2
    path = export_saved_model(model, args.path, kind=args.kind, class_names=args.class_names, overwrite=args.overwrite)
    print(f"SavedModel written to {path} (serving_default takes the same raw inputs as {os.path.basename(args.model)}).")
    return 0


def strategies(args):
    import keras_transfer as kt

    print(kt.strategies.list_strategies("text"))
    print("\nRun one: keras-transfer fit DATA --strategy NAME --backbone BACKBONE; in Python: keras_transfer.transfer(NAME, ...).")
    return 0
