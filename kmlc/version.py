"""The version of kmlc, declared once (pyproject.toml reads it)."""

__version__ = "0.1.0"
