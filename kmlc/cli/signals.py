"""SIGTERM and Ctrl-C: a clean unwinding, a watchdog for a process that cannot unwind, and the
line that says what is on disk afterwards."""

import os
import signal
import sys
import threading
from pathlib import Path

from kmlc.interrupts import defer
from kmlc.io import remove_pending
from kmlc.runs import resume_dir

# After SIGTERM (or Ctrl-C) the process unwinds by KeyboardInterrupt, normally within a second.
# But Python runs a signal handler only when the main thread returns to the interpreter, and a
# native wait (XLA, tf.data) may never return or may lose the exception. So a watchdog thread,
# woken through signal.set_wakeup_fd whatever the main thread is doing, removes what is being
# written and exits 128 + the signal (143 for SIGTERM) if the process is still alive after this
# grace period, or at once on a second signal. Seconds; KMLC_INTERRUPT_GRACE_S overrides.
INTERRUPT_GRACE_S = 30.0
_WATCHED_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class InterruptHandler:
    """SIGTERM -> KeyboardInterrupt in the main thread, backed by a watchdog (see above)."""

    def __init__(self, args):
        self.args = args
        self.signum = None  # the first signal received: the exit status is 128 + it
        self.signals_seen = 0
        self.timer = None
        self.installed = False

    def install(self):
        """Main thread only (signal and set_wakeup_fd require it)."""
        read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.write_fd, False)
        self.previous_wakeup_fd = signal.set_wakeup_fd(self.write_fd, warn_on_full_buffer=False)
        self.previous_handlers = {signum: signal.signal(signum, self) for signum in _WATCHED_SIGNALS}
        threading.Thread(target=self._watch, args=(read_fd,), name="kmlc-interrupt-watchdog", daemon=True).start()
        self.installed = True

    def uninstall(self):
        if not self.installed:
            return
        for signum, previous in self.previous_handlers.items():
            signal.signal(signum, previous)
        signal.set_wakeup_fd(self.previous_wakeup_fd)
        os.close(self.write_fd)  # the watchdog reads end-of-file and ends
        if self.timer is not None:
            self.timer.cancel()
        self.installed = False

    def __call__(self, signum, frame):
        self.signum = self.signum or signum
        # While a network trains the interrupt waits for the next batch (kmlc/interrupts.py).
        if not defer(signum):
            raise KeyboardInterrupt(f"signal {signum}")

    def _watch(self, read_fd):
        with os.fdopen(read_fd, "rb", buffering=0) as pipe:
            while True:
                data = pipe.read(64)
                if not data:
                    return
                for signum in data:
                    if signum not in _WATCHED_SIGNALS:
                        continue
                    self.signum = self.signum or signum
                    self.signals_seen += 1
                    if self.signals_seen > 1:
                        self._exit_now()
                    grace = float(os.environ.get("KMLC_INTERRUPT_GRACE_S", INTERRUPT_GRACE_S))
                    self.timer = threading.Timer(grace, self._exit_now)
                    self.timer.daemon = True
                    self.timer.start()

    def _exit_now(self):
        remove_pending()
        try:
            print(interrupted_message(self.args) + " (stopped by the interrupt watchdog)", file=sys.stderr, flush=True)
        finally:
            os._exit(self.exit_status())

    def exit_status(self):
        """128 + the signal, as a shell reports a process killed by it: 143 for SIGTERM, 130
        for Ctrl-C (SIGINT)."""
        return 128 + int(self.signum or signal.SIGINT)


def interrupted_message(args):
    out = getattr(args, "out", None) or getattr(args, "resume", None)
    if args.command != "train" or not out:
        return (
            f"kmlc {args.command}: interrupted; nothing half-written was left (an existing model "
            "directory keeps its previous contents)."
        )
    out = Path(out)
    kept = f"'{out}' keeps its previous model" if (out / "kmlc.json").is_file() else f"no model was written to '{out}'"
    can_resume = (resume_dir(out) / "backup" / "kmlc_state.json").is_file()
    resume = f"; continue from the last completed epoch with `kmlc train --resume {out}`" if can_resume else ""
    return f"kmlc train: interrupted; nothing half-written was left: {kept}{resume}."
