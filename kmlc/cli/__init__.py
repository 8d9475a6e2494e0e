"""The `kmlc` command line: train, evaluate, predict, tune, export, info, split.

`main` parses the flags (`parser`), holds SIGTERM and Ctrl-C to a clean unwinding
(`signals`), runs the command (`commands`, thin calls of the Python API) and turns kmlc's
errors into one line and an exit status. The backend is chosen (from --backend or
KERAS_BACKEND) before Keras is imported.
"""

import contextlib
import os
import sys
import threading
import warnings

from kmlc.cli.commands import COMMANDS
from kmlc.cli.parser import build_parser, render_cli_reference
from kmlc.cli.signals import InterruptHandler, interrupted_message
from kmlc.errors import KmlcDataWarning, KmlcInputError, KmlcModelError
from kmlc.runs import resume_dir

__all__ = ["COMMANDS", "build_parser", "main", "render_cli_reference", "resume_dir"]


def main(argv=None):
    # Quiet TensorFlow's C++ start-up logs unless the user asked for them.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    # SIGTERM (a scheduler, `kill`) unwinds like Ctrl-C, so temporary directories are removed
    # and a model directory is either the previous one or the new one, never half-written.
    handler = InterruptHandler(args)
    if threading.current_thread() is threading.main_thread():
        handler.install()
    # Data warnings are shown every time, as one "warning: ..." line; the settings are
    # restored on return, for callers that run main() in-process.
    original_format = warnings.formatwarning
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", KmlcDataWarning)
            warnings.formatwarning = lambda message, category, *a, **k: f"warning: {message}\n"
            return COMMANDS[args.command](args)
    except (KmlcInputError, KmlcModelError) as e:
        print(f"kmlc {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(interrupted_message(args), file=sys.stderr)
        return handler.exit_status()
    except BrokenPipeError:
        # The reader of our output went away (`kmlc predict ... | head -1`): stop quietly, as
        # Unix tools do; stdout goes to /dev/null so that the exit's flush does not fail again.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        handler.uninstall()
        warnings.formatwarning = original_format
