"""The `warmline` command: one module per group of sub-commands, all registered on `app`."""

from __future__ import annotations

from warmline.cli.app import app


def main() -> None:
    """Entry point of the `warmline` console script; configuration errors exit 2, no traceback."""
    import sys

    from pydantic import ValidationError

    from warmline.actions.loader import ActionsError
    from warmline.policy.loader import PolicyError
    from warmline.understanding.lexicon import LexiconError

    _register_commands()
    try:
        app()
    except PolicyError as error:
        print(f"error: invalid policy (WARMLINE_POLICY_FILE):\n{error}", file=sys.stderr)
        raise SystemExit(2) from None
    except ActionsError as error:
        print(f"error: invalid actions (WARMLINE_ACTIONS_FILE):\n{error}", file=sys.stderr)
        raise SystemExit(2) from None
    except LexiconError as error:
        print(f"error: invalid text rules (WARMLINE_LEXICON_FILE):\n{error}", file=sys.stderr)
        raise SystemExit(2) from None
    except ValidationError as error:
        for problem in error.errors():
            loc = "_".join(str(part) for part in problem["loc"]).upper()
            field = f"WARMLINE_{loc}" if loc else "settings"
            message = str(problem["msg"]).removeprefix("Value error, ")
            print(f"error: invalid configuration ({field}): {message}", file=sys.stderr)
        raise SystemExit(2) from None


def _register_commands() -> None:
    # Importing a module registers its commands on the shared Typer apps.
    import importlib
    import pkgutil

    import warmline.cli as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.name not in {"app", "jsonl"}:
            importlib.import_module(f"warmline.cli.{module.name}")
