"""`Strategy`: one named way to transfer, with its paper and when to use it."""

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export

INPUTS = ("data", "source", "target")


@keras_transfer_export("keras_transfer.strategies.Strategy")
class Strategy:
    """A registered transfer strategy: what it is, when to use it, how it trains.

    A strategy only composes public building blocks of the package (e.g.
    `build_classifier` + `fit_classifier`); `keras_transfer.transfer` runs it
    by name. Each stays usable piece by piece: the docs page of a strategy
    shows the same steps written out.

    Args:
        name: the registry name, e.g. `"fine_tune"`.
        train: function `(context, **options) -> (model, history, details)`
            doing the work; `context` holds the checked arguments of
            `keras_transfer.transfer`.
        paper: the reference (authors, title, venue).
        when: one line: when to use this strategy.
        requires: which of `"data"` (labelled target-task examples),
            `"source"` (labelled source examples) and `"target"`
            (unlabelled target inputs) must be given.
        accepts: which of them may be given (at least `requires`).
        options: `{option: default}`, the strategy's own keyword arguments.
        trains: whether it takes gradient steps (`epochs` and
            `learning_rate` apply). Defaults to `True`.
        epochs: default number of epochs. Defaults to `5`.
        learning_rate: default learning rate (Adam). Defaults to `1e-3`.
        page: the docs page of the strategy (file name under `docs/`).
        section: the anchor of its section on `page`, when it shares the
            page with other strategies. Defaults to `None`.
        inputs: `"images"` (arrays `(n, height, width, channels)`) or
            `"texts"` (1-D arrays of strings). Defaults to `"images"`.
        builds: the classes of its technique package the strategy is made
            of (its models, layers, callbacks), e.g.
            `(DomainAdaptationModel, DomainAdversarialHead)`. They live in
            the same package as `train` (its `package`). Defaults to `()`.
        starts_from: `"backbone"` (a pretrained trunk the strategy builds a
            classifier on) or `"source_model"` (a trained source classifier
            the strategy adapts, given as `transfer(...,
            source_model=...)`; its `train` then gets a
            `SourceModelContext`). Defaults to `"backbone"`.
        shared_labels: whether `data` (labelled target examples) and
            `source` share one label space (domain adaptation with a few
            target labels): `num_classes` then counts the classes of both,
            and the source labels are checked against it. Defaults to
            `False` (e.g. distillation: another task's labels).

    Example:

    >>> import keras_transfer
    >>> strategy = keras_transfer.strategies.get_strategy("fine_tune")
    >>> strategy.name, strategy.requires
    ('fine_tune', ('data',))
    """

    def __init__(
        self,
        name,
        train,
        *,
        paper,
        when,
        requires=("data",),
        accepts=None,
        options=None,
        trains=True,
        epochs=5,
        learning_rate=1e-3,
        page,
        section=None,
        inputs="images",
        builds=(),
        starts_from="backbone",
        shared_labels=False,
    ):
        for argument, value in (("name", name), ("paper", paper), ("when", when), ("page", page)):
            if not isinstance(value, str) or not value:
                raise _checks.invalid(argument, "a non-empty str", value, error=TypeError)
        if not callable(train):
            raise _checks.invalid("train", "a function (context, **options) -> (model, history, details)", train, error=TypeError)
        accepts = tuple(requires) if accepts is None else tuple(accepts)
        for argument, values in (("requires", requires), ("accepts", accepts)):
            for value in values:
                _checks.check_choice(argument, value, INPUTS)
        if not set(requires) <= set(accepts):
            raise _checks.invalid("accepts", f"a superset of requires={tuple(requires)}", accepts)
        self.name = name
        self.train = train
        self.paper = paper
        self.when = when
        self.requires = tuple(requires)
        self.accepts = accepts
        self.options = dict(options or {})
        self.trains = bool(trains)
        self.epochs = _checks.check_int("epochs", epochs, minimum=0)
        self.learning_rate = _checks.check_float("learning_rate", learning_rate, minimum=0.0, exclusive_minimum=True)
        self.page = page
        if section is not None and (not isinstance(section, str) or not section or "#" in section):
            raise _checks.invalid("section", "None or an anchor name (without '#')", section, error=TypeError)
        self.section = section
        self.inputs = _checks.check_choice("inputs", inputs, ("images", "texts"))
        if not isinstance(builds, (tuple, list)) or not all(isinstance(b, type) for b in builds):
            raise _checks.invalid("builds", "a tuple of classes", builds, error=TypeError)
        self.builds = tuple(builds)
        self.starts_from = _checks.check_choice("starts_from", starts_from, ("backbone", "source_model"))
        if not isinstance(shared_labels, bool):
            raise _checks.invalid("shared_labels", "a bool", shared_labels, error=TypeError)
        self.shared_labels = shared_labels
        self.registered_in = None  # the module that registered it (set by `register_strategy`)

    @property
    def link(self):
        """`page`, with `#section` when the strategy has one: where its docs are."""
        return self.page if self.section is None else f"{self.page}#{self.section}"

    @property
    def package(self):
        """The package holding the strategy's recipe (`train`), e.g. `"keras_transfer.domain_adaptation"`."""
        module = getattr(self.train, "__module__", None) or ""
        parts = module.split(".")
        return ".".join(parts[:2]) if parts[0] == "keras_transfer" and len(parts) > 2 else module

    def __repr__(self):
        return f"Strategy({self.name!r}, requires={self.requires}, options={sorted(self.options)})"
