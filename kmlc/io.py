"""Writing directories and files atomically: a reader sees the old content or the new, never half."""

import contextlib
import json
import os
import shutil
import tempfile
import threading
from pathlib import Path

# Temporary paths being written right now: if the process must exit without unwinding (see
# kmlc.cli's interrupt watchdog), remove_pending() deletes them, so nothing half-written stays.
_PENDING = set()
_PENDING_LOCK = threading.Lock()


def _track(path, pending):
    with _PENDING_LOCK:
        (_PENDING.add if pending else _PENDING.discard)(Path(path))


def remove_pending():
    """Deletes every temporary file and directory that is still being written."""
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
def atomic_directory(path, overwrite=True):
    """Yields a temporary directory beside `path`; on success it is renamed to `path`.

    On any exception (KeyboardInterrupt included) the temporary directory is removed and
    whatever was at `path` before is left untouched.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(
            f"Expected a path that does not exist yet, Received: '{path}'. "
            "Choose another path or allow overwriting."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    _track(tmp, True)
    # mkdtemp makes a private (0700) directory; a model directory is as readable as any other.
    os.chmod(tmp, 0o777 & ~_umask())
    try:
        yield tmp
        if path.exists():
            # Two renames: the old directory is moved aside first, so a crash between
            # them leaves either the old or the new directory at a recognisable name.
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
            old.rmdir()
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        _track(tmp, False)


def atomic_write_text(path, text):
    """Writes `text` to `path` through a temporary file and a rename."""
    path = Path(path)
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


def write_json(path, obj):
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(obj):
    # NumPy scalars and arrays appear in metrics; JSON knows only Python types.
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serialisable")
