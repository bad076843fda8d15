"""Writing to disk safely: never overwrite unless asked, never leave a half-written result.

Everything is written to a temporary sibling first and renamed into place
once complete, so an interrupted save or export leaves the previous one (if
any) intact and loadable.
"""

import contextlib
import os
import shutil
import uuid

from keras_transfer import _checks


def check_target(path, overwrite, *, argument="path", directory=True):
    """Raises before any work if `path` exists and `overwrite` is not set."""
    if not isinstance(path, (str, os.PathLike)):
        raise _checks.invalid(argument, "a path (str or os.PathLike)", path, error=TypeError)
    if not isinstance(overwrite, bool):
        raise _checks.invalid("overwrite", "a bool", overwrite, error=TypeError)
    path = os.fspath(path)
    if os.path.exists(path):
        if directory and os.path.isdir(path) and not os.listdir(path):
            return path
        if directory and not os.path.isdir(path):
            raise _checks.invalid(argument, "a directory path", path, hint="A file exists there.")
        if not overwrite:
            what = "a non-empty directory" if directory else "a file"
            raise _checks.invalid(
                argument,
                "a path that does not exist yet",
                path,
                hint=f"{what.capitalize()} is already there; pass `overwrite=True` to replace it.",
            )
    return path


def _sibling(path, tag):
    head, tail = os.path.split(os.path.abspath(path))
    return os.path.join(head, f".{tail}.{tag}-{uuid.uuid4().hex[:8]}")


@contextlib.contextmanager
def atomic_path(path, *, directory=True):
    """Yields a temporary sibling of `path`; on success it replaces `path`.

    On an exception the temporary is removed and `path` is untouched.
    """
    path = os.path.abspath(os.fspath(path))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = _sibling(path, "tmp")
    try:
        yield temporary
        if os.path.exists(path):
            backup = _sibling(path, "old")
            os.replace(path, backup)
            try:
                os.replace(temporary, path)
            except BaseException:
                os.replace(backup, path)
                raise
            _remove(backup)
        else:
            os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            _remove(temporary)


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.exists(path):
        os.remove(path)
