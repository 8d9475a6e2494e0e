"""Writes docs/cli.md from kmlc's argument parser."""

from pathlib import Path

from kmlc.cli import render_cli_reference

path = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
path.write_text(render_cli_reference() + "\n", encoding="utf-8")
print(f"wrote {path}")
