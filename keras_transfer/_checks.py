"""Argument checks shared by the public API.

Every message names the argument, says what was expected and what was received,
in the style of Keras core: "Invalid value received for argument `rate`.
Expected a float between 0 and 1. Received: rate=1.5".
"""

import difflib
import math
import numbers



def _received(name, value):
    text = repr(value)
    if len(text) > 120:
        text = text[:117] + "..."
    return f"Received: {name}={text}"


def invalid(name, expected, value, hint=None, error=ValueError):
    """Builds the exception for argument `name` (does not raise it)."""
    message = (
        f"Invalid value received for argument `{name}`. Expected {expected}. "
        f"{_received(name, value)}"
        + (f" (type {type(value).__name__})" if error is TypeError else "")
        + "."
    )
    if hint:
        message += f" {hint}"
    return error(message)


def check_int(name, value, *, minimum=None, maximum=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise invalid(name, "an integer", value, error=TypeError)
    if minimum is not None and value < minimum:
        raise invalid(name, f"an integer >= {minimum}", value)
    if maximum is not None and value > maximum:
        raise invalid(name, f"an integer <= {maximum}", value)
    return int(value)


def check_float(name, value, *, minimum=None, maximum=None, exclusive_minimum=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise invalid(name, "a number", value, error=TypeError)
    value = float(value)
    if not math.isfinite(value):
        raise invalid(name, "a finite number", value)
    if minimum is not None:
        bad = value <= minimum if exclusive_minimum else value < minimum
        if bad:
            op = ">" if exclusive_minimum else ">="
            raise invalid(name, f"a number {op} {minimum}", value)
    if maximum is not None and value > maximum:
        raise invalid(name, f"a number <= {maximum}", value)
    return value


def check_choice(name, value, choices):
    if value not in choices:
        close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=3)
        hint = f"Did you mean {', '.join(repr(c) for c in close)}?" if close else None
        raise invalid(name, f"one of {', '.join(repr(c) for c in choices)}", value, hint)
    return value


def suggest(value, candidates):
    """A ' Did you mean ...?' suffix for an unknown name, or ''."""
    close = difflib.get_close_matches(str(value), list(candidates), n=3, cutoff=0.5)
    return f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
