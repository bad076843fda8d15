"""Markdown tables of the parity records: accuracy and time per method and pair, with the verdicts."""

import numpy as np

ACCURACY_MARGIN = 0.01  # the goal: ours >= ADAPT - 1 point (or - the seed spread of the difference, if larger)


def _ms(values, digits=3):
    values = np.asarray(values, "float64")
    return f"{values.mean():.{digits}f} ± {values.std():.{digits}f}" if len(values) > 1 else f"{values[0]:.{digits}f}"


def paired(records, method, pair):
    """`{seed: {"ours": record, "adapt": record}}` of one method on one pair."""
    seeds = {}
    for r in records:
        if r["method"] == method and r["pair"] == pair:
            seeds.setdefault(r["seed"], {})[r["library"]] = r
    return dict(sorted(seeds.items()))


def verdict(ours, adapt, ratio):
    """`(accuracy verdict, time verdict)` against the goals."""
    difference = np.asarray(ours) - np.asarray(adapt)
    margin = max(ACCURACY_MARGIN, float(difference.std()))
    if difference.mean() >= -ACCURACY_MARGIN:
        accuracy = "ours >= ADAPT - 1 pt"
    elif difference.mean() >= -margin:
        accuracy = f"within the seed spread ({margin:.3f})"
    else:
        accuracy = "**ADAPT wins**"
    return accuracy, ("ours faster or equal" if ratio <= 1.0 else "**ADAPT faster**")  # CPU seconds when known


def table(records, methods, pair):
    """One pair's table (methods in table order, those with records only)."""
    lines = [
        "| method | ADAPT | target acc, ours | target acc, ADAPT | ours - ADAPT (paired) | s/run ours | s/run ADAPT "
        "| wall ours/ADAPT (median, min-max) | CPU s ours/ADAPT (median) | accuracy | time (CPU) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for method in methods:
        runs = paired(records, method.name, pair)
        if not runs:
            continue
        ours = [r["ours"] for r in runs.values() if "ours" in r]
        if method.adapt is None:
            lines.append(f"| {method.name} | {method.twin} | {_ms([r['acc'] for r in ours])} | | | "
                         f"{np.mean([r['seconds'] for r in ours]):.1f} | | | | | |")
            continue
        both = [r for r in runs.values() if {"ours", "adapt"} <= set(r)]
        if not both:
            continue
        key = method.time_key
        acc_o, acc_a = [r["ours"]["acc"] for r in both], [r["adapt"]["acc"] for r in both]
        ratios = np.array([r["ours"][key] / r["adapt"][key] for r in both])
        cpu_key = "cpu_seconds" if key == "seconds" else "weight_cpu_seconds"
        cpu = np.median([r["ours"].get(cpu_key, np.nan) / r["adapt"].get(cpu_key, np.nan) for r in both])
        accuracy, speed = verdict(acc_o, acc_a, float(np.median(ratios) if np.isnan(cpu) else cpu))
        extra = ""
        same = [r["adapt"].get("acc_same_settings") for r in both]
        if all(s is not None for s in same):
            extra = f" (our settings: {_ms(same)})"
        agreement = [r["adapt"].get("agreement") for r in both]
        if all(a is not None for a in agreement):  # the shallow transforms: how close the transformed features are
            extra += f" (features agree: {np.mean(agreement):.3g})"
        lines.append(
            f"| {method.name} | {method.twin} | {_ms(acc_o)} | {_ms(acc_a)}{extra} | {_ms(np.subtract(acc_o, acc_a))} "
            f"| {np.mean([r['ours'][key] for r in both]):.2f} | {np.mean([r['adapt'][key] for r in both]):.2f} "
            f"| {np.median(ratios):.2f} ({ratios.min():.2f}-{ratios.max():.2f}) | {cpu:.2f} | {accuracy} | {speed} |"
        )
    return lines


def tables(records, methods, pairs, settings):
    lines = []
    for pair in pairs:
        if not any(r["pair"] == pair for r in records):
            continue
        seeds = sorted({r["seed"] for r in records if r["pair"] == pair})
        lines += [f"## {pair} (seeds {', '.join(map(str, seeds))})", "", settings.get(pair, ""), ""]
        lines += table(records, methods, pair) + [""]
    lines += ["## What each row compares", ""]
    alone = {"weight_seconds": " Time: the weighting alone.", "transform_seconds": " Time: the transform alone."}
    lines += [f"- **{m.name}** ({m.twin}): {m.notes}" + alone.get(m.time_key, "") for m in methods if m.notes]
    return lines
