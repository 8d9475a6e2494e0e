"""Interrupts (SIGTERM, Ctrl-C) that arrive while a network trains are held to the next batch.

A KeyboardInterrupt raised at an arbitrary bytecode can land while TensorFlow is in the
middle of native work: creating an epoch's tf.data iterator, it corrupted the heap and the
process aborted instead of exiting 130 (seen in about one run in four). So `kmlc train`'s
signal handler asks `defer` first: inside `deferred_interrupts()` (around `model.fit`) it only
records the signal, and `kmlc.training.InterruptAtBatchBoundary` raises the KeyboardInterrupt
at the next batch or epoch boundary, in plain Python. Outside it the handler raises at once.
Keras-free, so the command line can import it before choosing a backend.
"""

import contextlib
import threading

_lock = threading.Lock()
_depth = 0
_pending = None


@contextlib.contextmanager
def deferred_interrupts():
    """While active, `defer(signum)` holds a signal for `raise_pending` instead of raising."""
    global _depth
    with _lock:
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            leaving = _depth == 0
        if leaving:
            raise_pending()


def defer(signum):
    """True when `signum` was held (training is running); False when the caller must raise."""
    global _pending
    with _lock:
        if _depth == 0:
            return False
        if _pending is None:
            _pending = signum
        return True


def raise_pending():
    """Raise the held interrupt, if any, as KeyboardInterrupt (the handler's own exception)."""
    global _pending
    with _lock:
        signum, _pending = _pending, None
    if signum is not None:
        raise KeyboardInterrupt(f"signal {signum}")
