"""The Typer application objects that every `warmline` sub-command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="warmline",
    help="warmline: AI does the routine work, people get the conversations that need them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
train_app = typer.Typer(help="Train models from labelled data.", no_args_is_help=True)
eval_app = typer.Typer(help="Evaluate models on labelled data.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
models_app = typer.Typer(help="Build and inspect the bundled models.", no_args_is_help=True)
import_app = typer.Typer(
    help="Import conversations that happened elsewhere (phone calls).", no_args_is_help=True
)
app.add_typer(train_app, name="train")
app.add_typer(eval_app, name="eval")
app.add_typer(db_app, name="db")
app.add_typer(models_app, name="models")
app.add_typer(import_app, name="import")
