"""`transfer`: run a registered strategy by name."""

import os

import keras
import numpy as np

from keras_transfer import _checks
from keras_transfer.data import checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.backbones.resolve import resolve_backbone
from keras_transfer.feature_extraction.transfer_classifier import TransferClassifier
from keras_transfer.strategies import _context
from keras_transfer.strategies.registry import get_strategy
from keras_transfer.strategies.registry import list_strategies
from keras_transfer.strategies.strategy import Strategy
from keras_transfer.strategies.transfer_result import TransferResult

_WHAT = {
    "data": "labelled target-task examples, a pair (x, y) of arrays",
    "source": "labelled source examples, a pair (x_s, y_s) of arrays",
    "target": "unlabelled target inputs, an array x_t",
}
# `build_classifier` arguments a caller may set through `build_options`
# (the others come from `transfer`'s own arguments or from the strategy).
BUILD_OPTIONS = ("adapt_input", "image_size", "pooling", "hidden_units", "dropout", "train_batchnorm", "groups", "name")


@keras_transfer_export("keras_transfer.transfer")
def transfer(
    strategy,
    backbone=None,
    data=None,
    *,
    source_model=None,
    source=None,
    target=None,
    num_classes=None,
    validation_data=None,
    epochs=None,
    batch_size=32,
    learning_rate=None,
    weights="imagenet",
    preprocessing=None,
    build_options=None,
    callbacks=None,
    verbose="auto",
    jit_compile="auto",
    seed=None,
    **options,
):
    """Trains a classifier with a transfer strategy chosen by name.

    One entry point to every registered strategy
    (`keras_transfer.strategies.list_strategies("text")` lists them with
    their paper and when to use each). The strategy builds its models with
    `keras_transfer.build_classifier` on a copy of `backbone` and trains
    them with the package's own pieces (`fit_classifier`, `fine_tune`,
    `DomainAdaptationModel`, `FixMatch`, ...), which stay usable on their
    own. Every argument is checked before any training starts.

    What each input means:

    - `data`: labelled examples of the task to learn, `(x, y)` with
      integer labels; for domain adaptation, a few labelled target
      examples (`"ccsa"` needs them, the other domain adaptation
      strategies add them to the source labels: semi-supervised);
    - `source`: labelled source examples `(x_s, y_s)`: the labelled domain of
      `"dann"`, `"cdan"`, `"mmd"`, `"coral"`; the source task that trains the
      teacher of `"distill"` or the classifier and generator of `"pp_pssl"`;
    - `target`: unlabelled target inputs `x_t`: the domain to adapt to
      (domain adaptation), the unlabelled pool of `"fixmatch"`, the test
      stream of `"bn_adapt"`, `"tent"` and `"shot"`.

    The strategies that adapt a trained classifier (`"bn_adapt"`, `"tent"`,
    `"shot"`) take `source_model=` and `target=` instead of a backbone and
    labelled data: `kt.transfer("tent", source_model=model, target=x_t)`.

    Args:
        strategy: a name from `keras_transfer.strategies.available()` (or a
            `keras_transfer.strategies.Strategy`).
        backbone: a registered backbone name, a keras-hub preset, a saved
            `.keras` model, or a `keras.Model` (copied: the given model is
            never trained in place; a `TransferClassifier` gives its
            backbone). Checked before anything trains
            (`keras_transfer.backbones.resolve_backbone`). `None` for
            the strategies that start from `source_model`.
        data: `(x, y)` arrays, see above.
        source: `(x_s, y_s)` arrays, see above.
        target: an array of unlabelled inputs, see above.
        source_model: a trained Keras classifier, or the path of a saved
            `.keras` file, for the strategies that adapt one (see above).
        num_classes: number of target classes. Defaults to `max(y) + 1`.
        validation_data: `(x_val, y_val)` labelled target examples,
            evaluated after each epoch (`val_accuracy` in the history).
        epochs: number of epochs (for `"fine_tune"` and `"gradual"`, the
            head-only epochs included). Defaults to the strategy's.
        batch_size: examples per step (per domain for domain adaptation).
            Defaults to `32`.
        learning_rate: Adam's learning rate. Defaults to the strategy's.
        weights: backbone weights, as for `build_classifier` (`"imagenet"`:
            a given model keeps its weights; `None`: random).
        preprocessing: the backbone's preprocessing mode, as for
            `build_classifier`.
        build_options: more `build_classifier` arguments, e.g.
            `{"adapt_input": True}`.
        callbacks: Keras callbacks for the main `fit`.
        verbose: as in `model.fit`. Defaults to `"auto"`.
        jit_compile: as in `model.compile`. Defaults to `"auto"`.
        seed: int, seeds Keras, NumPy and the strategy's random layers.
        **options: the strategy's own options (`Strategy.options` lists
            them with their defaults), e.g. `alpha=0.1` for `"l2sp"`.

    Returns:
        A `keras_transfer.strategies.TransferResult`: `model, history =
        result`; `result.details` holds the intermediate objects.

    Example:

    >>> import numpy as np, keras, keras_transfer
    >>> backbone = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3)])
    >>> x = np.random.default_rng(0).uniform(0, 255, (16, 8, 8, 3))
    >>> y = np.arange(16) % 2
    >>> model, history = keras_transfer.transfer(
    ...     "feature_extraction", backbone, (x, y), epochs=2, verbose=0, preprocessing="unit")
    >>> sorted(history.history)
    ['accuracy', 'loss']
    >>> model.predict(x[:1], verbose=0).shape
    (1, 2)
    """
    if isinstance(strategy, Strategy):
        spec = strategy
    else:
        spec = get_strategy(strategy)

    if spec.starts_from == "source_model":
        return _from_source_model(
            spec, backbone=backbone, source_model=source_model, data=data, source=source, target=target,
            validation_data=validation_data, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
            callbacks=callbacks, verbose=verbose, jit_compile=jit_compile, seed=seed, options=options,
            backbone_settings={"num_classes": num_classes, "weights": weights,
                               "preprocessing": preprocessing, "build_options": build_options},
        )
    if source_model is not None:
        raise _checks.invalid(
            "source_model", f"None: strategy {spec.name!r} builds on a backbone (pass it as `backbone`)", source_model,
            hint="The strategies that adapt a trained model are: "
            + ", ".join(s.name for s in list_strategies() if s.starts_from == "source_model") + ".",
        )
    if backbone is None:
        raise _checks.invalid("backbone", f"a backbone: strategy {spec.name!r} builds a classifier on one", None)
    texts = spec.inputs == "texts"
    if texts and not isinstance(backbone, (str, os.PathLike)):
        raise _checks.invalid("backbone", f"a keras-hub text preset (name or directory) for strategy {spec.name!r}", backbone, error=TypeError)
    given_model = backbone.backbone if isinstance(backbone, TransferClassifier) else backbone
    resolved = resolve_backbone(given_model, texts=texts)  # an unknown name fails here, before any training
    if resolved.kind == "model":  # a given model, or one loaded from a .keras file
        backbone = resolved.model

    given = {"data": data, "source": source, "target": target}
    for name, value in given.items():
        if value is not None and name not in spec.accepts:
            uses = ", ".join(f"`{n}`" for n in spec.accepts)
            raise _checks.invalid(
                name, f"None: strategy {spec.name!r} does not use it (it takes {uses})", _short(value),
                hint=_hint_for(spec, name),
            )
    for name in spec.requires:
        if given[name] is None:
            raise _checks.invalid(name, f"{_WHAT[name]}: strategy {spec.name!r} needs it", None, hint=_hint_for(spec, name))

    data = None if data is None else _context.labelled("data", data, texts)
    source = None if source is None else _context.labelled("source", source, texts)
    target = None if target is None else _context.unlabelled("target", target)
    validation_data = None if validation_data is None else _context.labelled("validation_data", validation_data, texts)
    labelled = data if data is not None else source
    if labelled is None:  # e.g. pp_pssl or distill without `data` cannot happen: data is required
        raise _checks.invalid("data", _WHAT["data"], None)
    input_shape = tuple(labelled[0].shape[1:])
    for name, value in (("source", source), ("target", target), ("validation_data", validation_data)):
        x = None if value is None else (value if name == "target" else value[0])
        if x is not None and tuple(x.shape[1:]) != input_shape:
            raise _checks.invalid(name, f"inputs of shape {input_shape} (as the labelled inputs)", f"inputs of shape {tuple(x.shape[1:])}")

    # Source and labelled target examples of one label space (domain adaptation): both count.
    shared = [("source", source)] if spec.shared_labels and data is not None and source is not None else []
    if num_classes is None:
        num_classes = max(int(value[1].max()) + 1 for value in [labelled] + [v for _, v in shared])
    num_classes = _checks.check_int("num_classes", num_classes, minimum=2)
    for name, value in (("data" if data is not None else "source", labelled), ("validation_data", validation_data),
                        *shared):
        if value is not None:
            checks.check_labels(name, value[1], num_classes=num_classes, why=f"num_classes={num_classes}")

    epochs_given = epochs is not None
    epochs, learning_rate = _training_settings(spec, options, epochs, learning_rate)
    batch_size = _checks.check_int("batch_size", batch_size, minimum=1)
    callbacks = _callbacks(callbacks)
    build_options = dict(build_options or {})
    bad = sorted(set(build_options) - set(BUILD_OPTIONS))
    if bad:
        raise _checks.invalid("build_options", f"keys among {', '.join(BUILD_OPTIONS)}", build_options)
    _seed(seed)

    context = _context.Context(
        strategy=spec, backbone=backbone, data=data, source=source, target=target, num_classes=num_classes,
        input_shape=input_shape, weights=weights, preprocessing=preprocessing, epochs=epochs, batch_size=batch_size,
        learning_rate=learning_rate, validation_data=validation_data, callbacks=list(callbacks), verbose=verbose,
        jit_compile=jit_compile, seed=seed, build_options=build_options, epochs_given=epochs_given,
    )
    model, history, details = spec.train(context, **{**spec.options, **options})
    return TransferResult(model, history, spec, details)


def _training_settings(spec, options, epochs, learning_rate):
    """`(epochs, learning_rate)` with the strategy's defaults, once its options are checked."""
    unknown = sorted(set(options) - set(spec.options))
    if unknown:
        accepted = ", ".join(f"`{k}`" for k in spec.options) or "none"
        raise _checks.invalid(unknown[0], f"an option of strategy {spec.name!r} (its options: {accepted})", options[unknown[0]])
    if not spec.trains:
        for name, value in (("epochs", epochs), ("learning_rate", learning_rate)):
            if value is not None:
                raise _checks.invalid(name, f"None: strategy {spec.name!r} takes no gradient step", value)
    epochs = spec.epochs if epochs is None else _checks.check_int("epochs", epochs, minimum=1)
    learning_rate = spec.learning_rate if learning_rate is None else _checks.check_float(
        "learning_rate", learning_rate, minimum=0.0, exclusive_minimum=True
    )
    return epochs, learning_rate


def _callbacks(callbacks):
    if callbacks is None:
        return []
    if not isinstance(callbacks, (list, tuple)) or not all(isinstance(c, keras.callbacks.Callback) for c in callbacks):
        raise _checks.invalid("callbacks", "a list of keras.callbacks.Callback", callbacks, error=TypeError)
    return list(callbacks)


def _seed(seed):
    if seed is not None:
        seed = _checks.check_int("seed", seed, minimum=0)
        keras.utils.set_random_seed(seed)
        np.random.seed(seed)
    return seed


def _from_source_model(spec, *, backbone, source_model, data, source, target, validation_data, epochs, batch_size,
                       learning_rate, callbacks, verbose, jit_compile, seed, options, backbone_settings):
    """`transfer` for a strategy that adapts a trained source classifier to unlabelled `target` inputs."""
    why = f"None: strategy {spec.name!r} adapts the trained `source_model` to unlabelled `target` inputs"
    for name, value in (("backbone", backbone), ("data", data), ("source", source)):
        if value is not None:
            hint = "Pass the trained classifier as source_model=." if name == "backbone" else (
                "Labelled target examples go to `validation_data` (to measure); no source data is needed.")
            raise _checks.invalid(name, why, _short(value), hint=hint)
    defaults = {"num_classes": None, "weights": "imagenet", "preprocessing": None, "build_options": None}
    for name, value in backbone_settings.items():
        if value is not defaults[name] and value != defaults[name]:
            raise _checks.invalid(name, f"its default: strategy {spec.name!r} builds no classifier", value)
    if source_model is None:
        raise _checks.invalid("source_model", f"a trained Keras classifier (or a .keras file): strategy {spec.name!r} adapts it", None)
    model = _context.source_model(source_model)
    if target is None:
        raise _checks.invalid("target", f"{_WHAT['target']}: strategy {spec.name!r} needs it", None)
    target = _context.unlabelled("target", target)
    if validation_data is not None:
        validation_data = _context.labelled("validation_data", validation_data)
    epochs, learning_rate = _training_settings(spec, options, epochs, learning_rate)
    context = _context.SourceModelContext(
        strategy=spec, source_model=model, target=target, validation_data=validation_data, epochs=epochs,
        batch_size=_checks.check_int("batch_size", batch_size, minimum=1), learning_rate=learning_rate,
        callbacks=_callbacks(callbacks), verbose=verbose, jit_compile=jit_compile,
    )
    _seed(seed)
    adapted, history, details = spec.train(context, **{**spec.options, **options})
    return TransferResult(adapted, history, spec, details)


def _short(value):
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} elements"
    shape = getattr(value, "shape", None)
    return f"an array of shape {tuple(shape)}" if shape is not None else value


def _hint_for(spec, name):
    if set(spec.requires) == {"source", "target"}:
        return (
            "Domain adaptation learns the labels from `source=(x_s, y_s)` and adapts to the unlabelled "
            "`target=x_t`; labelled target examples go to `data=(x_l, y_l)` where the strategy trains on a few "
            "(semi-supervised) or to `validation_data` (measured only)."
        )
    if name == "target" and "target" not in spec.accepts:
        return "Unlabelled target inputs are used by 'fixmatch' and the domain adaptation strategies."
    return None
