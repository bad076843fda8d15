"""Helpers shared by the reports of `keras-transfer demo` and `keras-transfer fit`."""

import contextlib
import os
import shutil
import tempfile


def pyplot():
    """`matplotlib.pyplot` on the file-only Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(figure, path):
    """Writes `figure` as a PNG at `path`, closes it, returns `path`."""
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    pyplot().close(figure)
    return path


def bar_chart(values, path, *, ylabel, title, chance=None, size=(5, 3.5)):
    """One bar per `{label: value}` entry, with a dotted chance line; returns `path`."""
    plt = pyplot()
    figure, axes = plt.subplots(figsize=size)
    axes.bar(list(values), list(values.values()), color=[f"C{i}" for i in range(len(values))])
    if chance is not None:
        axes.axhline(chance, color="gray", linestyle=":", linewidth=1)
    axes.set_ylim(0, 1)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    return save(figure, path)


def has_report(out_dir):
    """Whether `out_dir` already holds a report (its README.md)."""
    return os.path.exists(os.path.join(out_dir, "README.md"))


def refuse_overwrite(out_dir, overwrite, stream):
    """Prints the refusal and returns True when `out_dir` holds a report and `overwrite` is off."""
    if has_report(out_dir) and not overwrite:
        print(f"error: {out_dir} already holds a report; pass --overwrite or another --out.", file=stream)
        return True
    return False


def write_markdown(out_dir, lines):
    """Writes `README.md` in `out_dir` (created); returns its path."""
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "README.md")
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


@contextlib.contextmanager
def staged(out_dir):
    """A hidden folder beside `out_dir` to write a report in; its files move into `out_dir` only on success.

    A run that fails (or is killed) leaves `out_dir` as it was: no empty
    folder, no half-written report. Files of `out_dir` that the report does
    not rewrite are kept.
    """
    target = os.path.abspath(out_dir)
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    prefix = f".{os.path.basename(target)}.partial-"
    _remove_abandoned(parent, prefix)
    staging = tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=parent)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    os.makedirs(target, exist_ok=True)
    for name in sorted(os.listdir(staging)):
        os.replace(os.path.join(staging, name), os.path.join(target, name))
    os.rmdir(staging)


def _remove_abandoned(parent, prefix):
    """Removes the staging folders of runs that were killed (their process no longer exists)."""
    for name in os.listdir(parent):
        if not name.startswith(prefix):
            continue
        pid = name[len(prefix):].split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
