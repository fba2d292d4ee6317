"""`warmline replay`: conversations (JSONL) through the engine, per-turn decisions out; with
`--policy` and `--compare`, what-if runs of policy changes on past conversations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from warmline.cli.app import app
from warmline.cli.jsonl import fail, progress_bar, read_conversations, write_line

if TYPE_CHECKING:
    from warmline.policy.policy import Policy


@app.command()
def replay(
    source: str = typer.Argument("-", help="JSONL file of conversations, or - for stdin."),
    policy: Path | None = typer.Option(
        None,
        "--policy",
        help="Replay under this policy file (default: the configured one). The per-conversation "
        "lines still go to stdout; a summary goes to stderr.",
    ),
    compare: Path | None = typer.Option(
        None,
        "--compare",
        help="Also replay under this policy and report the conversations whose outcome differs, "
        "and why (instead of the per-conversation lines).",
    ),
    summary: bool = typer.Option(
        False,
        "--summary",
        help="Print only the summary as JSON on stdout (no per-conversation lines).",
    ),
    as_json: bool = typer.Option(
        False, "--json", help="With --compare: print the comparison as one JSON object."
    ),
    show: int = typer.Option(
        50, "--show", min=0, help="With --compare: how many differing conversations to list."
    ),
) -> None:
    """Replay conversations: customer turns go through the engine in order; agent turns are
    context. Prints one JSON line per conversation (see docs/cli.md)."""
    from warmline.bootstrap import build_pipeline, intents_of
    from warmline.config import get_settings
    from warmline.engine import Pipeline
    from warmline.policy.loader import PolicyError
    from warmline.policy.policy import load_policy
    from warmline.replay import replay_conversation
    from warmline.whatif import SharedAnalyzer

    records = read_conversations(source)
    try:
        pipeline = build_pipeline(get_settings(), actions=False)
        known = intents_of(pipeline.analyzer)
        first = load_policy(policy, known) if policy is not None else None
        second = load_policy(compare, known) if compare is not None else None
    except PolicyError as error:
        raise fail(f"invalid policy:\n{error}") from None
    # Two policies share one analysis per turn: understanding does not depend on the policy.
    shared = SharedAnalyzer(pipeline.analyzer)
    analyzer = shared if second is not None else pipeline.analyzer
    pipeline_a = Pipeline(analyzer, first or pipeline.policy, pipeline.composer)
    pipeline_b = Pipeline(analyzer, second, pipeline.composer) if second is not None else None
    results_a: list[dict[str, Any]] = []
    results_b: list[dict[str, Any]] = []
    stream = pipeline_b is None and not summary
    with progress_bar(len(records), "replaying") as advance:
        for record in records:
            result, _ = replay_conversation(pipeline_a, record)
            if stream:
                write_line(result)
                if policy is not None:
                    results_a.append(_light(result))
            else:
                results_a.append(result)
            if pipeline_b is not None:
                results_b.append(replay_conversation(pipeline_b, record)[0])
            shared.forget()
            advance()
    _report(
        pipeline_a.policy,
        pipeline_b.policy if pipeline_b else None,
        results_a,
        results_b,
        summary=summary,
        as_json=as_json,
        show=show,
        explicit=policy is not None,
        names=_names(policy, compare),
    )


def _light(result: dict[str, Any]) -> dict[str, Any]:
    """What the summary needs of a result that was already printed."""
    keep = ("decision", "turn", "reasons")
    return {
        "id": result["id"],
        "escalated": result["escalated"],
        "escalated_at_turn": result["escalated_at_turn"],
        "reasons": result["reasons"],
        "turns": [{k: t[k] for k in keep} for t in result["turns"]],
    }


def _names(first: Path | None, second: Path | None) -> tuple[str, str]:
    a = first.name if first is not None else "current"
    b = second.name if second is not None else "B"
    return (a, b) if a != b else ("A", "B")


def _report(
    policy_a: Policy,
    policy_b: Policy | None,
    results_a: list[dict[str, Any]],
    results_b: list[dict[str, Any]],
    *,
    summary: bool,
    as_json: bool,
    show: int,
    explicit: bool,
    names: tuple[str, str],
) -> None:
    from warmline.redaction import mask_value
    from warmline.whatif import compare, format_comparison, format_summary, summarize

    if policy_b is not None:
        report = mask_value(compare(results_a, results_b, names=names))
        report["labels"] = {names[0]: policy_a.label, names[1]: policy_b.label}
        if as_json or summary:
            typer.echo(json.dumps(report, ensure_ascii=False))
        else:
            typer.echo(format_comparison(report, limit=show))
        return
    totals = summarize(results_a)
    totals["policy"] = policy_a.label
    if summary:
        typer.echo(json.dumps(totals, ensure_ascii=False))
    elif explicit:
        typer.echo(format_summary(totals, names[0]), err=True)
