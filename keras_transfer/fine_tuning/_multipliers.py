"""Which update multiplier a variable gets: keys by group name, layer or variable path.

A `GroupOptimizer` key is one of:

- a group name of its `groups` (`{group: [variable paths]}`), e.g. `"block5"`;
- a layer, e.g. `"d1"`: every variable under it (`"sequential/d1/kernel"`, ...);
- a variable path, e.g. `"d1/kernel"` (the end of the full path is enough).

A path key matches a variable when its `/`-separated parts appear, in order
and contiguous, among the parts of the variable's path. When several keys
match, the most specific wins: the path key with the most parts, then a
group name.
"""

from keras_transfer import _checks


def check_multipliers(multipliers):
    if not isinstance(multipliers, dict):
        raise _checks.invalid(
            "multipliers", "a dict {group name, layer or variable path: factor}", multipliers, error=TypeError
        )
    return {
        str(key): _checks.check_float(f"multipliers[{key!r}]", factor, minimum=0.0, exclusive_minimum=True)
        for key, factor in multipliers.items()
    }


def check_groups(groups):
    if groups is None:
        return {}
    if not isinstance(groups, dict) or not all(
        isinstance(paths, (list, tuple)) and all(isinstance(p, str) for p in paths) for paths in groups.values()
    ):
        raise _checks.invalid("groups", "None or a dict {group name: [variable paths]}", groups, error=TypeError)
    return {str(name): list(paths) for name, paths in groups.items()}


def _parts(path):
    return [part for part in str(path).split("/") if part]


def _path_matches(key_parts, path_parts):
    width = len(key_parts)
    return any(path_parts[i : i + width] == key_parts for i in range(len(path_parts) - width + 1))


def factor_for(path, multipliers, groups):
    """The multiplier of the variable at `path` (1.0 when no key matches)."""
    parts = _parts(path)
    best, best_rank = 1.0, -1
    for key, factor in multipliers.items():
        rank = -1
        key_parts = _parts(key)
        if key_parts and _path_matches(key_parts, parts):
            rank = len(key_parts)
        elif key in groups and path in groups[key]:
            rank = 0
        if rank > best_rank:
            best, best_rank = factor, rank
    return best


def unmatched_keys(multipliers, groups, paths):
    """The keys of `multipliers` that match none of `paths` (nor a group of `groups` with variables)."""
    split = [_parts(path) for path in paths]
    missing = []
    for key in multipliers:
        if groups.get(key):
            continue
        key_parts = _parts(key)
        if not key_parts or not any(_path_matches(key_parts, parts) for parts in split):
            missing.append(key)
    return missing


def unmatched_error(missing, groups, paths):
    shown = ", ".join(repr(p) for p in list(paths)[:4]) + (", ..." if len(paths) > 4 else "")
    group_names = ", ".join(repr(g) for g in groups) or "none"
    return ValueError(
        f"Invalid value received for argument `multipliers`: the key {missing[0]!r} matches no variable the "
        f"optimizer updates.{_checks.suggest(missing[0], list(groups))} Keys are group names (this optimizer's "
        f"groups: {group_names}), layers or variable paths (e.g. {shown or 'none yet'}). For the groups of a "
        "model, use keras_transfer.callbacks.DiscriminativeLR(multipliers={group: factor})."
    )
