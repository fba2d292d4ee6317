"""JSONL input and output shared by the contract commands (analyze, replay, summarize).

Contract: read a file or standard input (`-`), write one JSON line per input line in order to
standard output, send progress to standard error, and exit 2 with a message on malformed input.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import typer


class InputError(Exception):
    """Malformed input: reported on stderr with exit code 2."""


def read_jsonl(source: str) -> list[dict[str, Any]]:
    """Read every object of a JSONL file or `-`; raise InputError naming the bad line."""
    return list(iter_jsonl(source))


def iter_jsonl(source: str) -> Iterator[dict[str, Any]]:
    """Yield the objects of a JSONL source one by one, skipping blank lines."""
    if source == "-":
        lines: Iterator[str] = iter(sys.stdin)
        name = "<stdin>"
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError(f"{source}: no such file")
        # "\n" only: JSON strings may hold U+2028 and friends, which splitlines() splits at.
        text = path.read_text(encoding="utf-8", errors="replace")
        lines = (line.removesuffix("\r") for line in text.split("\n"))
        name = source
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputError(f"{name}:{number}: invalid JSON ({error.msg})") from None
        if not isinstance(value, dict):
            raise InputError(f"{name}:{number}: expected a JSON object")
        yield value


def write_line(value: dict[str, Any]) -> None:
    """Write one output object as a JSON line and flush, so pipes see results as they come.

    Personal data is masked on the way out (`redaction.mask`), as it is on the way to the
    database: outputs get copied into files, tickets and chat threads.
    """
    from warmline.redaction import mask_value

    masked = mask_value(value, keep_contacts=_keep_contacts())
    sys.stdout.write(json.dumps(masked, ensure_ascii=False) + "\n")
    sys.stdout.flush()


@lru_cache(maxsize=1)
def _keep_contacts() -> bool:
    from warmline.config import get_settings

    return get_settings().keep_contact_details


def fail(message: str) -> typer.Exit:
    """Print a contract error to stderr and return the exit-2 exception to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


@contextmanager
def progress_bar(total: int, label: str) -> Iterator[Callable[[], None]]:
    """A progress bar on stderr (silent when stderr is not a terminal); yields `advance()`."""
    from rich.console import Console
    from rich.progress import Progress

    console = Console(stderr=True)
    with Progress(console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task(label, total=total)
        yield lambda: progress.advance(task)


@contextmanager
def stage_progress() -> Iterator[Callable[[str, int, int], None]]:
    """Progress bars on stderr, one per stage of a long job; yields `progress(stage, done,
    total)`, the callback the trainers take."""
    from rich.console import Console
    from rich.progress import Progress, TaskID

    with Progress(console=Console(stderr=True), transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        yield progress


def read_conversations(source: str) -> list[dict[str, Any]]:
    """Read and validate conversation records (`{"id", "turns": [...]}`); exit 2 if malformed."""
    from warmline.replay import ReplayInputError, parse_turns

    try:
        records = read_jsonl(source)
        for line, record in enumerate(records, start=1):
            try:
                parse_turns(record)
            except ReplayInputError as error:
                raise InputError(f"{source}: record {line}: {error}") from None
    except InputError as error:
        raise fail(str(error)) from None
    return records
