"""The registry of named strategies: register, look up, list."""

import sys

from keras_transfer import _checks
from keras_transfer.api_export import keras_transfer_export
from keras_transfer.strategies.strategy import Strategy

_REGISTRY = {}


@keras_transfer_export("keras_transfer.strategies.register_strategy")
def register_strategy(strategy, *, overwrite=False):
    """Adds a `keras_transfer.strategies.Strategy` to the registry.

    Args:
        strategy: the `Strategy` to add.
        overwrite: replace a strategy of the same name. Defaults to `False`
            (a second registration under a taken name raises).

    Returns:
        The strategy.

    Example:

    >>> import keras_transfer
    >>> fine_tune = keras_transfer.strategies.get_strategy("fine_tune")
    >>> keras_transfer.strategies.register_strategy(fine_tune, overwrite=True).name
    'fine_tune'
    """
    if not isinstance(strategy, Strategy):
        raise _checks.invalid("strategy", "a keras_transfer.strategies.Strategy", strategy, error=TypeError)
    if strategy.name in _REGISTRY and not overwrite:
        raise _checks.invalid("strategy", "a strategy whose name is not registered yet (or overwrite=True)", strategy)
    if strategy.registered_in is None:  # the first registration is the record's home; re-registering keeps it
        strategy.registered_in = sys._getframe(1).f_globals.get("__name__")
    _REGISTRY[strategy.name] = strategy
    return strategy


@keras_transfer_export("keras_transfer.strategies.get_strategy")
def get_strategy(name):
    """The registered `Strategy` called `name`.

    Args:
        name: a name from `keras_transfer.strategies.available()`.

    Returns:
        A `keras_transfer.strategies.Strategy`.

    Example:

    >>> import keras_transfer
    >>> keras_transfer.strategies.get_strategy("dann").requires
    ('source', 'target')
    """
    if not isinstance(name, str):
        raise _checks.invalid("strategy", "a strategy name (str)", name, error=TypeError)
    if name not in _REGISTRY:
        raise _checks.invalid(
            "strategy", f"one of {', '.join(repr(n) for n in _REGISTRY)}", name, _checks.suggest(name, _REGISTRY).strip() or None
        )
    return _REGISTRY[name]


@keras_transfer_export("keras_transfer.strategies.available")
def available():
    """The registered strategy names, in registration order.

    Example:

    >>> import keras_transfer
    >>> keras_transfer.strategies.available()[:3]
    ['feature_extraction', 'fine_tune', 'gradual']
    """
    return list(_REGISTRY)


@keras_transfer_export("keras_transfer.strategies.list_strategies")
def list_strategies(style=None):
    """The registered strategies, or a table of them (name, paper, when to use it).

    Args:
        style: `None` (the `Strategy` objects), `"text"` (a plain table for a
            terminal) or `"markdown"` (the table of `docs/strategies.md`,
            with a link to each strategy's page).

    Returns:
        A list of `keras_transfer.strategies.Strategy`, or a str.

    Example:

    >>> import keras_transfer
    >>> [s.name for s in keras_transfer.strategies.list_strategies()][:2]
    ['feature_extraction', 'fine_tune']
    >>> print(keras_transfer.strategies.list_strategies("text").splitlines()[0])  # doctest: +SKIP
    name                when to use it
    """
    if style is not None:
        _checks.check_choice("style", style, (None, "text", "markdown"))
    strategies = list(_REGISTRY.values())
    if style is None:
        return strategies
    if style == "markdown":
        lines = ["| strategy | when to use it | paper | needs |", "|---|---|---|---|"]
        for s in strategies:
            lines.append(f"| [`{s.name}`]({s.link}) | {s.when} | {s.paper} | {_needs(s)} |")
        return "\n".join(lines)
    width = max(len(s.name) for s in strategies) + 2
    lines = [f"{'name':<{width}}when to use it", f"{'':<{width}}paper; needs"]
    for s in strategies:
        lines += ["", f"{s.name:<{width}}{s.when}", f"{'':<{width}}{s.paper}; needs {_needs(s)}"]
    return "\n".join(lines)


def _needs(strategy):
    parts = [f"`{name}`" for name in strategy.requires]
    if strategy.starts_from == "source_model":
        parts.insert(0, "`source_model`")
    optional = [f"`{name}` (optional)" for name in strategy.accepts if name not in strategy.requires]
    return ", ".join(parts + optional)
