"""Everything that can be configured or run is documented (the Datasette habit)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.main import get_command

from warmline.api.access import PUBLIC, Role, route_rules
from warmline.api.app import create_app
from warmline.cli import _register_commands
from warmline.cli.app import app
from warmline.config import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs"
_NO_SERVICES: Any = object()


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


def test_every_route_and_its_roles_are_documented() -> None:
    table = {}
    for line in (DOCS / "access.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
            table[(cells[0], cells[1].strip("`"))] = cells[2]
    app = create_app(Settings(_env_file=None), _NO_SERVICES)  # routes only, nothing is served
    documented = {}
    for rule in route_rules(app):
        assert rule.roles is not None, f"{rule.method} {rule.path} has no access rule"
        documented[(rule.method, rule.path)] = (
            "anyone" if rule.roles == PUBLIC else ", ".join(_ordered(rule.roles))
        )
    assert table == documented


def _ordered(roles: frozenset[Role]) -> list[str]:
    return [role.value for role in Role if role in roles]
