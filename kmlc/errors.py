"""Exceptions and warnings that kmlc raises for bad input.

Every message has the form "Expected ..., Received: ..." and says how to fix the
problem, so that a user never has to read a traceback from deep inside TensorFlow.
"""


class KmlcInputError(ValueError):
    """Bad user input (a file, a column, a setting), found before any work starts."""


class KmlcModelError(ValueError):
    """A model directory that is missing, incomplete, altered or of another format."""


class KmlcDataWarning(UserWarning):
    """Data that kmlc can use but that the user should know about (dropped rows, rare labels)."""


def _preview(values, limit=5):
    """Short, readable list of the first few offending values or row numbers."""
    values = list(values)
    shown = ", ".join(repr(v) if isinstance(v, str) else str(v) for v in values[:limit])
    more = f" and {len(values) - limit} more" if len(values) > limit else ""
    return f"[{shown}{more}]"
