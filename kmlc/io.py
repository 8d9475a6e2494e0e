"""Writing directories and files atomically: a reader sees the old content or the new, never half."""

import contextlib
import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from kmlc.errors import KmlcInputError
from kmlc.outputs import (
    INNER_FILE,
    check_output,
    foreign_content,
    output_lock,
    release_all_locks,
)

# Temporary paths being written right now: if the process must exit without unwinding (see
# kmlc.cli's interrupt watchdog), remove_pending() deletes them, so nothing half-written stays.
_PENDING = set()
_PENDING_LOCK = threading.Lock()


def _track(path, pending):
    with _PENDING_LOCK:
        (_PENDING.add if pending else _PENDING.discard)(Path(path))


def remove_pending():
    """Deletes every temporary file and directory that is still being written, and drops the
    write locks this process holds."""
    release_all_locks()
    with _PENDING_LOCK:
        paths = list(_PENDING)
        _PENDING.clear()
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)


@contextlib.contextmanager
def atomic_directory(path, kind, *, overwrite=False, flag=None):
    """Yields a temporary directory beside `path`; on success it is renamed to `path`.

    `kind` (a `kmlc.outputs.OutputKind`) says what is written: `path` must be free or hold a
    kmlc output of that kind, unless `overwrite` (see `kmlc.outputs`); the write lock of
    `path` is held throughout. On any exception (KeyboardInterrupt included) the temporary
    directory is removed and whatever was at `path` before is left untouched.
    """
    path = check_output(path, kind, flag=flag, overwrite=overwrite)
    if not kind.replaceable and os.path.lexists(path):
        raise KmlcInputError(
            f"Expected a {kind.name} that does not exist yet, Received: '{path}', which exists "
            "(kmlc never replaces one). Choose another path."
        )
    with output_lock(path, flag=flag):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
        _track(tmp, True)
        # mkdtemp makes a private (0700) directory; a model directory is as readable as any other.
        os.chmod(tmp, 0o777 & ~_umask())
        try:
            yield tmp
            _commit(tmp, path, kind, overwrite)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        finally:
            _track(tmp, False)


def _commit(tmp, path, kind, overwrite):
    if not os.path.lexists(path):
        os.replace(tmp, path)
        return
    found = foreign_content(path, kind)
    if found is not None and not overwrite:
        # Something else appeared at `path` while we worked: keep both, say where ours is.
        _track(tmp, False)
        kept = path.parent / f"{path.name}.new-{int(time.time())}"
        os.replace(tmp, kept)
        raise KmlcInputError(
            f"Expected '{path}' to stay free or a kmlc {kind.name} while kmlc wrote it, Received: "
            f"{found}, put there meanwhile; it was left as it is, and the new {kind.name} is at "
            f"'{kept}'."
        )
    if not kind.replaceable:
        raise KmlcInputError(f"Expected a {kind.name} that does not exist yet, Received: '{path}', which appeared meanwhile.")
    # Two renames: the old content is moved aside first, so a crash between them leaves
    # either the old or the new directory at a recognisable name; the old one is deleted
    # only once the new one is in place.
    old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
    old.rmdir()
    os.replace(path, old)
    os.replace(tmp, path)
    if old.is_dir() and not old.is_symlink():
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.unlink(old)


def atomic_write_text(path, text, kind=INNER_FILE, *, overwrite=False, flag=None):
    """Writes `text` to `path` through a temporary file and a rename. `kind`: see
    `atomic_directory`; the default is a file inside a directory kmlc is writing."""
    path = Path(path)
    if kind is not INNER_FILE:
        path = check_output(path, kind, flag=flag, overwrite=overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    _track(tmp, True)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        _track(tmp, False)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path, obj, kind=INNER_FILE, *, overwrite=False, flag=None):
    text = json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n"
    atomic_write_text(path, text, kind, overwrite=overwrite, flag=flag)


def _json_default(obj):
    # NumPy scalars and arrays appear in metrics; JSON knows only Python types.
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serialisable")
