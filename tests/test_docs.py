"""Everything that can be configured or run is documented (the Datasette habit)."""

from __future__ import annotations

from pathlib import Path

from typer.main import get_command

from warmline.cli import _register_commands
from warmline.cli.app import app
from warmline.config import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text()
    missing = [
        f"WARMLINE_{name.upper()}"
        for name in Settings.model_fields
        if f"`WARMLINE_{name.upper()}`" not in text
    ]
    assert missing == []


def test_every_command_is_documented() -> None:
    _register_commands()
    text = (DOCS / "cli.md").read_text()
    root = get_command(app)
    names: list[str] = []
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        children = getattr(command, "commands", None) or {}
        if children:
            names.extend(f"warmline {name} {child}" for child in children)
        else:
            names.append(f"warmline {name}")
    missing = [name for name in names if f"`{name}" not in text]
    assert missing == []
