"""The one rule for every path kmlc writes: replace only what kmlc wrote, lock while writing.

Every command that writes (a model directory, a report, split files, an export, a metrics
JSON file) goes through `claim_output` before any work starts, and writes through
`kmlc.io.atomic_directory` / `atomic_write_text`, which apply the same rule again at the
moment of the rename. The rule:

- A path that does not exist, or an empty directory, is free.
- A path that holds a kmlc output of the same kind is replaced as a whole: a model
  directory (its `kmlc.json` names what it holds), a report directory, split files, a
  metrics JSON file. An export never replaces anything: each version is a new directory.
- Anything else (a directory holding other files, a file where a directory goes, a file
  kmlc did not write) is refused with one line naming the path and the fix. With
  `overwrite=True` (`--overwrite`) it is replaced on purpose; the old content is kept, renamed
  aside, until the new one is complete.
- The current directory and its parents are never replaced; the location must be writable.
  Both are checked before any work starts, by creating and removing a probe there.

A lock (`.NAME.lock` beside the path) is held while a command writes: a second writer fails at
once with the holder's pid; a lock whose process is gone is taken over with a warning.
Keras-free, so the command line can check its outputs before choosing a backend.
"""

import contextlib
import errno
import fcntl
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from kmlc.errors import KmlcDataWarning, KmlcInputError, _preview

# ----------------------------------------------------------------------------- what kmlc writes

# Entries of a model directory saved before kmlc.json listed its files (format 1 without
# "files"); newer directories are recognised by that list.
_LEGACY_MODEL_ENTRIES = frozenset({
    "kmlc.json", "config.yaml", "labels.txt", "thresholds.json", "training.json", "model.keras",
    "metrics.json", "preprocessor", "groups.json", "labels", "reports",
})
_REPORT_SUFFIXES = (".html", ".md", ".json", ".csv", ".png")


def _read_json(path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _entries(path):
    return sorted(p.name for p in Path(path).iterdir())


def _is_report_dir(path):
    path = Path(path)
    if not (path / "report.html").is_file():
        return False
    return all(
        (p.is_file() and p.suffix in _REPORT_SUFFIXES) or (p.is_dir() and _is_report_dir(p))
        for p in path.iterdir()
    )


def _model_entries_foreign(path):
    """The entries of `path` that a kmlc model directory does not hold (None: not a model)."""
    info = _read_json(path / "kmlc.json")
    if not isinstance(info, dict) or "format_version" not in info:
        return None
    files = info.get("files")
    if isinstance(files, dict):
        own = {"kmlc.json"} | {Path(name).parts[0] for name in files if Path(name).parts}
    else:
        own = set(_LEGACY_MODEL_ENTRIES)
    foreign = []
    for name in _entries(path):
        if name == "reports" and (path / name).is_dir():
            foreign += [f"reports/{p.name}" for p in (path / name).iterdir() if not _is_report_dir(p)]
        elif name not in own:
            foreign.append(name)
    return foreign


def _split_entries_foreign(path):
    info = _read_json(path / "split.json")
    if not isinstance(info, dict) or not isinstance(info.get("splits"), dict):
        return None
    own = {"split.json"} | {f"{name}.csv" for name in info["splits"]}
    return [name for name in _entries(path) if name not in own]


def _report_entries_foreign(path):
    if not (path / "report.html").is_file():
        return None
    return [p.name for p in path.iterdir() if not (
        (p.is_file() and p.suffix in _REPORT_SUFFIXES) or (p.is_dir() and _is_report_dir(p))
    )]


def _backup_entries_foreign(path):
    if not (path / "kmlc_state.json").is_file():
        return None
    own = {"kmlc_state.json", "latest.weights.h5", "best_weights.npz", "training_metadata.json"}
    return [name for name in _entries(path) if name not in own]


def _resume_entries_foreign(path):
    if not (path / "run.yaml").is_file() and not (path / "backup").is_dir():
        return None
    return [name for name in _entries(path) if name not in ("run.yaml", "backup", ".backup.lock")]


def _is_metrics_json(path):
    obj = _read_json(path)
    return isinstance(obj, dict) and {"micro_f1", "n_examples"} <= set(obj)


@dataclass(frozen=True)
class OutputKind:
    """A kind of output and how kmlc recognises one it wrote.

    `foreign_entries(path)` (directories) gives the entries kmlc did not write, or None when
    `path` is not such an output at all; `is_own_file(path)` (files) says whether kmlc wrote it.
    `replaceable`: False for outputs that are never replaced (export versions).
    """

    name: str
    is_directory: bool = True
    foreign_entries: object = None
    is_own_file: object = None
    replaceable: bool = True


MODEL_DIRECTORY = OutputKind("model directory", foreign_entries=_model_entries_foreign)
REPORT_DIRECTORY = OutputKind("report directory", foreign_entries=_report_entries_foreign)
SPLIT_DIRECTORY = OutputKind("split directory", foreign_entries=_split_entries_foreign)
BACKUP_DIRECTORY = OutputKind("training backup", foreign_entries=_backup_entries_foreign)
# `kmlc train --out DIR` keeps what `--resume DIR` needs in `.DIR.resume/`.
RESUME_DIRECTORY = OutputKind("resume directory", foreign_entries=_resume_entries_foreign)
# The base directory of an export holds version directories (and may hold anything else: a
# server reads only the numbered ones); kmlc adds a version and never replaces one.
EXPORT_BASE = OutputKind("export directory", foreign_entries=lambda path: [], replaceable=False)
EXPORT_VERSION = OutputKind("export version", replaceable=False)
METRICS_FILE = OutputKind("metrics JSON file", is_directory=False, is_own_file=_is_metrics_json)
# A file that kmlc writes only inside a directory of its own (a report, a backup).
INNER_FILE = OutputKind("file", is_directory=False, is_own_file=lambda path: True)


# ----------------------------------------------------------------------------- the rule


def _described(path, flag):
    return f"{flag} '{path}'" if flag else f"'{path}'"


def _never_replaced(path):
    """The current directory, its parents and the root: replacing them would pull the floor
    from under the user's shell."""
    resolved = Path(os.path.abspath(path))
    cwd = Path(os.getcwd())
    return resolved == cwd or resolved in cwd.parents or resolved == Path(resolved.anchor)


def foreign_content(path, kind):
    """What at `path` kmlc did not write as a `kind` (a short description), or None when
    `path` is free or replaceable as kmlc's own."""
    path = Path(path)
    if not os.path.lexists(path):
        return None
    if kind.is_directory:
        if not path.is_dir():
            return "a file (kmlc writes a directory there)"
        entries = _entries(path)
        if not entries:
            return None
        foreign = kind.foreign_entries(path) if kind.foreign_entries else None
        if foreign is None:
            return f"a directory that kmlc did not write (it holds {_preview(entries, 3)})"
        if foreign:
            return f"a kmlc {kind.name} that also holds files kmlc did not write {_preview(sorted(foreign), 3)}"
        return None
    if path.is_dir():
        return "a directory"
    return None if kind.is_own_file(path) else f"a file that is not a kmlc {kind.name}"


def check_output(path, kind, *, flag=None, overwrite=False):
    """Applies the rule above to `path` before any work; returns it as a Path.

    Raises KmlcInputError naming the path and the fix when `path` may not be written.
    """
    if path is None or str(path).strip() == "":
        raise KmlcInputError(f"Expected a path for the {kind.name}{f' ({flag})' if flag else ''}, Received: none.")
    path = Path(path)
    where = _described(path, flag)
    if kind.replaceable and _never_replaced(path):
        raise KmlcInputError(
            f"Expected {flag or 'the path'} to name a new or kmlc-written {kind.name}, Received: '{path}', "
            "which is the current directory or one of its parents (kmlc replaces its output as a "
            f"whole). Name a directory inside it, e.g. {flag + ' ' if flag else ''}runs/{kind.name.split()[0]}."
        )
    if kind is EXPORT_BASE and os.path.lexists(path) and not path.is_dir():
        raise KmlcInputError(
            f"Expected {flag or 'the path'} to be a directory for version subdirectories, Received: {where} (a file)."
        )
    found = foreign_content(path, kind)
    if found is not None:
        if not kind.is_directory and path.is_dir():
            raise KmlcInputError(
                f"Expected a file path for the {kind.name}, Received: {where}, which is a directory. "
                "Name a file inside it."
            )
        if not overwrite:
            fix = "--overwrite" if (flag or "").startswith("--") else "overwrite=True"
            raise KmlcInputError(
                f"Expected a new or kmlc-written {kind.name} at {where}, Received: {found}; nothing was "
                f"changed. Choose another path, or pass {fix} to replace it (it is kept as a backup "
                "until the new one is complete)."
            )
    check_writable(path, flag=flag)
    return path


def check_writable(path, *, flag=None):
    """Raises KmlcInputError unless kmlc can create `path` (and rename something onto it):
    its nearest existing parent is a directory in which a probe can be made and removed."""
    path = Path(path)
    parent = Path(os.path.abspath(path)).parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise KmlcInputError(
            f"Expected a writable location for {_described(path, flag)}, Received: a path under "
            f"'{parent}', which is a file. Choose another path."
        )
    try:
        probe = tempfile.mkdtemp(prefix=".kmlc-write-probe-", dir=parent)
        os.rmdir(probe)
    except OSError as e:
        raise KmlcInputError(
            f"Expected a writable location for {_described(path, flag)}, Received: '{parent}', where "
            f"kmlc cannot write ({e.strerror or type(e).__name__}). Choose a writable path."
        ) from None


def remove_output(path, kind):
    """Deletes `path` when it is kmlc's own output of `kind` (or empty); anything else there is
    left as it is, with a warning. Returns True when it was deleted."""
    path = Path(path)
    if not os.path.lexists(path):
        return False
    found = foreign_content(path, kind)
    if found is not None:
        warnings.warn(
            f"left '{path}' in place: it is {found}, not only what kmlc wrote there",
            KmlcDataWarning,
            stacklevel=2,
        )
        return False
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
    return True


# ----------------------------------------------------------------------------- the lock

_HELD = {}  # lock path -> [thread id, depth, fd]
_HELD_LOCK = threading.Lock()


def lock_path(path):
    path = Path(os.path.abspath(path))
    return path.parent / f".{path.name}.lock"


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _holder(text):
    try:
        info = json.loads(text)
        return info if isinstance(info, dict) else {}
    except ValueError:
        return {}


@contextlib.contextmanager
def output_lock(path, *, flag=None):
    """Holds the write lock of `path` (re-entrant within one thread of this process).

    The lock is an `flock` on `.NAME.lock` beside `path`, which the operating system releases
    when the holder dies; the file records the holder's pid, host and command for the message.
    """
    lock = lock_path(path)
    me = threading.get_ident()
    with _HELD_LOCK:
        held = _HELD.get(lock)
        if held is not None and held[0] == me:
            held[1] += 1
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield
        finally:
            with _HELD_LOCK:
                _HELD[lock][1] -= 1
        return
    if held is not None:
        raise KmlcInputError(
            f"Expected no other writer of {_described(path, flag)}, Received: another thread of this "
            f"process (pid {os.getpid()}) is writing it. Wait for it, or write elsewhere."
        )
    fd = _acquire(lock, path, flag)
    with _HELD_LOCK:
        _HELD[lock] = [me, 1, fd]
    try:
        yield
    finally:
        with _HELD_LOCK:
            _HELD.pop(lock, None)
        _release(lock, fd)


def _acquire(lock, path, flag):
    lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            previous = _holder(os.pread(fd, 4096, 0).decode("utf-8", "replace"))
            os.close(fd)
            if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            pid = previous.get("pid", "unknown")
            what = f" ({previous['command']}, since {previous.get('since', '?')})" if previous.get("command") else ""
            raise KmlcInputError(
                f"Expected no other kmlc process writing {_described(path, flag)}, Received: a lock "
                f"held by pid {pid}{what} in '{lock}'. Wait for it to finish, or write elsewhere."
            ) from None
        # The file may have been removed by its previous holder between our open and flock:
        # then the lock we hold is on a file nobody else can see; try again.
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
            continue
        previous = _holder(os.pread(fd, 4096, 0).decode("utf-8", "replace"))
        if previous.get("pid") is not None:
            # We hold the flock, so its writer is gone; it died without removing the file.
            alive = previous.get("host") == socket.gethostname() and _pid_alive(int(previous["pid"]))
            warnings.warn(
                f"took over the lock of {_described(path, flag)} left by pid {previous['pid']}"
                f"{' (not running any more)' if not alive else ''}; its run was interrupted, so "
                "what it was writing was not completed",
                KmlcDataWarning,
                stacklevel=4,
            )
        record = {
            "pid": os.getpid(), "host": socket.gethostname(),
            "command": _command_line(), "since": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)
        return fd


def _command_line():
    argv = [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv and sys.argv[0] else ["python"]
    return " ".join(argv)[:200]


def _release(lock, fd):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(lock)
    os.close(fd)


def release_all_locks():
    """Drops every lock this process holds (the interrupt watchdog, before os._exit)."""
    with _HELD_LOCK:
        held = list(_HELD.items())
        _HELD.clear()
    for lock, (_, _, fd) in held:
        with contextlib.suppress(OSError):
            _release(lock, fd)


@contextlib.contextmanager
def claim_output(path, kind, *, flag=None, overwrite=False):
    """`check_output`, then hold the lock of `path` for the block: what a command does
    before any work, for each path it will write."""
    path = check_output(path, kind, flag=flag, overwrite=overwrite)
    with output_lock(path, flag=flag):
        yield path


@contextlib.contextmanager
def claim_outputs(claims):
    """`claim_output` for several (path, kind, flag, overwrite) at once; None paths skipped."""
    with contextlib.ExitStack() as stack:
        for path, kind, flag, overwrite in claims:
            if path is not None:
                stack.enter_context(claim_output(path, kind, flag=flag, overwrite=overwrite))
        yield
