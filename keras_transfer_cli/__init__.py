"""The `keras-transfer` command line, outside the package's import chain.

Importing `keras_transfer` imports TensorFlow (seconds), and the package root
must keep importing everything to register its classes for
`keras.models.load_model`. So the console entry point lives here: the parser,
`--help`, `--version` and argument errors need only the standard library, and
TensorFlow is imported once the arguments are valid, with its start-up log
hidden unless `keras-transfer --verbose ...` asks for it. Each command's work
is in `keras_transfer.cli`.
"""

import argparse
import contextlib
import difflib
import importlib
import os
import re
import sys
import tempfile
import warnings

from keras_transfer_cli.names import STRATEGY_NAMES


def _version():
    from importlib import metadata

    try:
        return metadata.version("keras-transfer")
    except metadata.PackageNotFoundError:  # a source tree on sys.path, not installed
        return "unknown (not installed)"


def _strategy_name(value):
    if value not in STRATEGY_NAMES:
        close = difflib.get_close_matches(value, STRATEGY_NAMES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise argparse.ArgumentTypeError(
            f"unknown strategy {value!r}.{hint} Available: {', '.join(STRATEGY_NAMES)} (see `keras-transfer strategies`)"
        )
    return value


def _handler(module, name):
    def handler(args):
        return getattr(importlib.import_module(module), name)(args)

    handler.target = f"{module}.{name}"
    return handler


def _data_arguments(parser):
    parser.add_argument("--download", action="store_true", help="let TFDS download a tfds:NAME dataset (needs internet)")
    parser.add_argument("--data-dir", help="TFDS data directory")
    parser.add_argument("--strict", action="store_true",
                        help="refuse a directory with unreadable images (default: skip them with a warning naming each)")


def build_parser():
    parser = argparse.ArgumentParser(prog="keras-transfer", description="Transfer learning with Keras 3, ready to use.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("--verbose", dest="show_tensorflow_log", action="store_true",
                        help="show TensorFlow's start-up log (hidden by default)")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the offline demo on real data and write a report with plots")
    demo.add_argument("--out", default="demo_report", help="report folder (default: demo_report)")
    size = demo.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="one seed, one label budget (about a minute)")
    size.add_argument("--full", action="store_true", help="5 seeds, 5 label budgets (much longer)")
    demo.add_argument("--overwrite", action="store_true", help="replace an existing report")
    demo.add_argument("--skip-text", action="store_true", help="images only (no sentence-encoder part)")
    demo.set_defaults(handler=_handler("keras_transfer.cli", "run_demo"))

    data_help = (
        "a directory (one sub-folder per class of images, or of .txt files for --strategy text), a .npz (x_train, "
        "y_train[, x_val, y_val, x_test, y_test, x_source, y_source, x_target]; string arrays for texts) or tfds:NAME"
    )
    fit = commands.add_parser(
        "fit", help="train with one or more strategies by name; writes models and a report with plots",
        description="Train with transfer strategies by name (see `keras-transfer strategies`) and write a report folder: "
        "one .keras model per strategy, README.md, learning_curves.png, comparison.png (several strategies), results.json.",
    )
    fit.add_argument("data", help=data_help)
    fit.add_argument("--strategy", nargs="+", default=["feature_extraction"], metavar="NAME", type=_strategy_name,
                     help="one or more strategy names; several are compared (default: feature_extraction)")
    fit.add_argument("--backbone", required=True,
                     help="a registered backbone name, a saved .keras model, or a keras-hub preset (name or directory; "
                     "for --strategy text, a text preset or a Hugging Face checkpoint directory)")
    fit.add_argument("--weights", default="imagenet", help="imagenet (a .keras backbone keeps its weights), none, or a weights file")
    fit.add_argument("--source", help="labelled source data (distill, pp_pssl), same formats as DATA")
    fit.add_argument("--target", help="unlabelled target images (domain adaptation, fixmatch): a directory or a .npz x_train")
    fit.add_argument("--epochs", type=int, help="epochs (default: each strategy's own)")
    fit.add_argument("--batch-size", type=int, default=32)
    fit.add_argument("--learning-rate", type=float, help="Adam learning rate (default: each strategy's own)")
    fit.add_argument("--image-size", type=int, nargs=2, metavar=("HEIGHT", "WIDTH"), help="resize directory images (default: the first image's size)")
    fit.add_argument("--grayscale", action="store_true", help="read directory images as one channel")
    fit.add_argument("--preprocessing", choices=("caffe", "tf", "torch", "unit", "none"), help="override the backbone's input preprocessing")
    fit.add_argument("--adapt-input", action="store_true", help="tile grayscale to RGB and resize small images inside the model")
    fit.add_argument("--validation-split", type=float, default=0.2, help="fraction held out when the data has no validation arrays (default: 0.2)")
    fit.add_argument("--option", action="append", metavar="KEY=VALUE", help="a strategy option, e.g. --option alpha=0.5 (repeatable)")
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1, help="Keras progress output (default: 1, progress bars)")
    fit.add_argument("--out", default="transfer_report", help="report folder (default: transfer_report)")
    fit.add_argument("--overwrite", action="store_true", help="replace an existing report")
    _data_arguments(fit)
    fit.set_defaults(handler=_handler("keras_transfer.cli", "run_fit"))

    evaluate = commands.add_parser("evaluate", help="accuracy of a saved .keras model on a labelled dataset")
    evaluate.add_argument("model", help="a .keras file (e.g. written by `keras-transfer fit`)")
    evaluate.add_argument("data", help=data_help)
    evaluate.add_argument("--split", choices=("auto", "test", "val", "train"), default="auto",
                          help="which labelled arrays (default: test, else val, else train; a directory is all 'train')")
    evaluate.add_argument("--batch-size", type=int, default=256)
    evaluate.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1)
    _data_arguments(evaluate)
    evaluate.set_defaults(handler=_handler("keras_transfer.cli.commands", "evaluate"))

    adapt = commands.add_parser("adapt", help="adapt a saved model to unlabelled target images (bn_adapt, tent, shot)")
    adapt.add_argument("model", help="a trained .keras classifier (the source model)")
    adapt.add_argument("target", help="unlabelled target images: a directory of images, a .npz with an x_target array, or tfds:NAME")
    adapt.add_argument("--strategy", default="tent", type=_strategy_name, help="bn_adapt, tent or shot (default: tent)")
    adapt.add_argument("--epochs", type=int, help="passes over the target (tent, shot; default: the strategy's own)")
    adapt.add_argument("--batch-size", type=int, default=128, help="test batch size (default: 128; see docs/test_time.md)")
    adapt.add_argument("--learning-rate", type=float, help="Adam learning rate (tent, shot)")
    adapt.add_argument("--option", action="append", metavar="KEY=VALUE", help="a strategy option, e.g. --option prior=0.2")
    adapt.add_argument("--seed", type=int, default=0)
    adapt.add_argument("--verbose", type=int, choices=(0, 1, 2), default=0)
    adapt.add_argument("--out", default="adapted.keras", help="where to save the adapted model (default: adapted.keras)")
    adapt.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    _data_arguments(adapt)
    adapt.set_defaults(handler=_handler("keras_transfer.cli.commands", "adapt"))

    export = commands.add_parser("export", help="write a SavedModel (TF Serving, TF Hub) from a saved .keras model")
    export.add_argument("model", help="a .keras file")
    export.add_argument("path", help="the SavedModel directory to write")
    export.add_argument("--kind", choices=("classifier", "feature_vector"), default="classifier")
    export.add_argument("--class-names", nargs="+", help="class names, returned by the serving signature")
    export.add_argument("--overwrite", action="store_true", help="replace an existing non-empty directory")
    export.set_defaults(handler=_handler("keras_transfer.cli.commands", "export"))

    bench = commands.add_parser("bench", help="run the benchmark suite of a source checkout (python -m benchmarks.run)")
    bench.epilog = "Every other argument goes to benchmarks.run, e.g. `keras-transfer bench --quick` or `--list`."
    bench.set_defaults(handler=_handler("keras_transfer_cli.bench", "bench"))

    rank = commands.add_parser(
        "rank", help="rank pretrained backbones for a labelled dataset by transferability scores (no training)",
        description="Score each backbone on the labelled data from one forward pass (LogME by default) and write a "
        "report folder: README.md (the table), ranking.png and results.json.",
    )
    rank.add_argument("data", help=data_help)
    rank.add_argument("--backbones", required=True, metavar="A,B,C",
                      help="comma-separated backbones: registered names, keras-hub presets or .keras files")
    rank.add_argument("--weights", metavar="W[,W...]",
                      help="imagenet (default), none (random) or a weights file: one for all, or one per backbone")
    rank.add_argument("--metric", default="logme", metavar="M[,M...]",
                      help="logme (default), hscore, transrate, knn, linear, leep, nce; several: the first ranks")
    rank.add_argument("--limit", type=int, metavar="N", help="score a stratified sample of at most N images")
    rank.add_argument("--image-size", type=int, nargs=2, metavar=("HEIGHT", "WIDTH"), help="resize directory images")
    rank.add_argument("--grayscale", action="store_true", help="read directory images as one channel")
    rank.add_argument("--batch-size", type=int, default=64)
    rank.add_argument("--seed", type=int, default=0, help="seed of the --limit sample")
    rank.add_argument("--out", default="rank_report", help="report folder (default: rank_report)")
    rank.add_argument("--overwrite", action="store_true", help="replace an existing report")
    _data_arguments(rank)
    rank.set_defaults(handler=_handler("keras_transfer.cli", "run_rank"))

    listing = commands.add_parser("strategies", help="list the strategies: name, when to use it, paper")
    listing.set_defaults(handler=_handler("keras_transfer.cli.commands", "strategies"))
    return parser


@contextlib.contextmanager
def quiet_stderr(replay=False):
    """Sends what is written to file descriptor 2 (C++ logs included) to a file while active.

    TensorFlow's C++ start-up lines bypass Python's `sys.stderr` and
    `TF_CPP_MIN_LOG_LEVEL` does not remove all of them, so the descriptor itself
    is redirected. What was written is replayed on stderr, each line once, if
    `replay` or if the block raises.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if replay or failed:
                sink.seek(0)
                sys.stderr.write(once_each(sink.read().decode(errors="replace")))


_LOG_PREFIX = re.compile(r"^[IWEF]\d{4} [\d:.]+\s+\d+ \S+\] ")


def once_each(text):
    """`text` without the lines that repeat an earlier one (log lines compared without their time stamp).

    TensorFlow's runtime prints its start-up block once for each of its two
    shared libraries.
    """
    seen, kept = set(), []
    for line in text.splitlines(keepends=True):
        key = _LOG_PREFIX.sub("", line)
        if key not in seen:
            seen.add(key)
            kept.append(line)
    return "".join(kept)


def _start_tensorflow(verbose):
    """Imports the package (and TensorFlow) and creates the CPU device; its log is shown once if `verbose`."""
    with quiet_stderr(replay=verbose):
        import keras_transfer  # noqa: F401  (registers the classes for load_model)
        import tensorflow as tf

        tf.constant(0)  # device creation prints its own lines: inside the redirect


# Python arguments in the package's messages, as the command line's flags.
FLAGS = (
    ("`adapt_input=True`", "--adapt-input"),
    ("adapt_input=True", "--adapt-input"),
    ("`image_size=(h, w)`", "--image-size HEIGHT WIDTH"),
    ("weights=None, on the command line --weights none", "--weights none"),
)


def in_flags(message):
    """`message` with the Python arguments it suggests replaced by the command line's flags."""
    for python, flag in FLAGS:
        message = message.replace(python, flag)
    return message


def _warning_line(message, category, filename, lineno, line=None):
    """A warning as the command line shows it: one line, no source location, flags for arguments."""
    return f"warning: {in_flags(str(message))}\n"


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "bench":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "bench":  # everything else goes to benchmarks.run, in its own process
        args.bench_args = extra
        return args.handler(args)
    args.argv = argv
    warnings.formatwarning = _warning_line
    _start_tensorflow(args.show_tensorflow_log)
    from keras_transfer.backbones.spec import WeightsDownloadError
    from keras_transfer.utils import retracing

    retracing.quiet()  # each strategy and evaluation builds new Keras step functions, on purpose

    try:
        return args.handler(args)
    except (ValueError, TypeError) as error:  # bad input: the message names it
        print(f"error: {in_flags(str(error))}", file=sys.stderr)
        return 2
    except WeightsDownloadError as error:
        print(f"error: {error} On the command line: --weights none (random) or --weights FILE.", file=sys.stderr)
        return 2
    except OSError as error:  # e.g. a keras-hub preset that cannot be downloaded offline
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        import tensorflow as tf

        if not isinstance(error, tf.errors.OpError):
            raise
        # e.g. a full disk while writing (OutOfRangeError "File too large"): writes go to a temporary
        # sibling first, so what was there before is intact.
        print(f"error: {type(error).__name__}: {error.message.strip().splitlines()[0]}. Nothing was replaced: "
              "files written before are intact.", file=sys.stderr)
        return 1
