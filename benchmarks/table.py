"""Rows of the benchmark table and their Markdown / text rendering."""

import dataclasses
import statistics


@dataclasses.dataclass
class Row:
    """One comparison measured in one run: a baseline against a candidate.

    Attributes:
        entry: the entry's name (its module name in `benchmarks/suite/`).
        measure: what is compared, e.g. "epoch time, epochs 2-10 (median)".
        baseline, candidate: labels of the two sides, e.g. "model.fit" and
            "fit_classifier (cached)".
        baseline_value, candidate_value: the measured numbers.
        unit: "s", "ms", "%" ...
        kind: "time" (lower is better; the ratio column is baseline /
            candidate, "N.Nx faster", or "N.Nx slower" below 1) or "score" (higher is better; the column
            is candidate - baseline, in `unit`).
        note: conditions worth knowing (repeats, spread).
    """

    entry: str
    measure: str
    baseline: str
    candidate: str
    baseline_value: float
    candidate_value: float
    unit: str = "s"
    kind: str = "time"
    note: str = ""

    def __post_init__(self):
        if self.kind not in ("time", "score"):
            raise ValueError(f"Row.kind must be 'time' or 'score'. Received: kind={self.kind!r}.")

    @property
    def comparison(self):
        if self.kind == "time":
            if self.candidate_value <= 0 or self.baseline_value <= 0:
                return "n/a"
            ratio = self.baseline_value / self.candidate_value
            return f"{ratio:.1f}x faster" if ratio >= 1 else f"{1 / ratio:.1f}x slower"
        delta = self.candidate_value - self.baseline_value
        return f"{delta:+.2f} {self.unit}".rstrip()


def fmt(value):
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


HEADER = ("entry", "measure", "baseline", "candidate", "baseline value", "candidate value", "ratio / difference", "note")


def _cells(row):
    unit = f" {row.unit}" if row.unit else ""
    return (
        row.entry, row.measure, row.baseline, row.candidate,
        fmt(row.baseline_value) + unit, fmt(row.candidate_value) + unit, row.comparison, row.note,
    )


def markdown(rows):
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in rows:
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in _cells(row)) + " |")
    return "\n".join(lines)


def text(rows):
    table = [HEADER] + [_cells(row) for row in rows]
    widths = [max(len(str(r[i])) for r in table) for i in range(len(HEADER))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in table)


def median(values):
    return statistics.median(values) if values else float("nan")


def spread(values):
    """'min-max' of a list of numbers, for notes."""
    return f"{fmt(min(values))}-{fmt(max(values))}" if values else ""
