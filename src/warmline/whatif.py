"""What-if runs: replay past conversations under a policy (or two) and say what would change.

The understanding of a conversation does not depend on the policy, so when two policies are
compared each turn is analysed once (`SharedAnalyzer`) and only the decisions are made twice.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from warmline.engine import Analyzer
from warmline.understanding.types import Analysis, Signal


@dataclass
class SharedAnalyzer:
    """Wraps an analyzer and remembers its answers for the conversation being replayed, so a
    second policy replaying the same turns gets the same analyses without recomputing them."""

    inner: Analyzer
    _memo: dict[tuple[str, str, str], tuple[Analysis, dict[str, Any]]] = field(default_factory=dict)

    def analyze(
        self,
        text: str,
        *,
        state: dict[str, Any],
        ts: datetime | None = None,
        speech: tuple[Signal, ...] | None = None,
    ) -> tuple[Analysis, dict[str, Any]]:
        """The inner analyzer's answer, computed once per (text, state, time, speech cues)."""
        key = (text, json.dumps(state, sort_keys=True, default=str), f"{ts}|{speech}")
        hit = self._memo.get(key)
        if hit is None:
            hit = (
                self.inner.analyze(text, state=state, ts=ts)
                if speech is None
                else self.inner.analyze(text, state=state, ts=ts, speech=speech)
            )
            self._memo[key] = hit
        return hit

    def forget(self) -> None:
        """Drop the memory (call between conversations to bound it)."""
        self._memo.clear()


def summarize(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Escalation rate, reasons histogram (per escalated conversation), conditions histogram,
    median customer turn of escalation, and how many conversations got an offer."""
    total = len(results)
    escalated = [r for r in results if r.get("escalated")]
    reasons: Counter[str] = Counter()
    conditions: Counter[str] = Counter()
    for result in escalated:
        reasons.update(set(result.get("reasons") or []))
        conditions.update(_conditions(result))
    turns = [int(r["escalated_at_turn"]) for r in escalated if r.get("escalated_at_turn")]
    offered = sum(
        1 for r in results if any(t.get("decision") == "offer_handoff" for t in r["turns"])
    )
    decisions: Counter[str] = Counter(
        turn.get("decision", "") for r in results for turn in r.get("turns", [])
    )
    return {
        "conversations": total,
        "escalated": len(escalated),
        "escalation_rate": round(len(escalated) / total, 4) if total else 0.0,
        "reasons": dict(reasons.most_common()),
        "conditions": dict(conditions.most_common()),
        "median_escalation_turn": statistics.median(turns) if turns else None,
        "offered": offered,
        "decisions": dict(decisions.most_common()),
    }


def _escalating_turn(result: dict[str, Any]) -> dict[str, Any] | None:
    turn_number = result.get("escalated_at_turn")
    return next((t for t in result.get("turns", []) if t.get("turn") == turn_number), None)


def _conditions(result: dict[str, Any]) -> set[str]:
    turn = _escalating_turn(result)
    if turn is None:
        return set()
    found: set[str] = set()
    for reason in turn.get("reasons", []):
        if reason.get("mode") != "immediate":
            continue
        for condition in str(reason.get("condition") or "").split(",") or [""]:
            found.add(f"{reason['trigger']}.{condition}" if condition else reason["trigger"])
    return found


def outcome_line(result: dict[str, Any]) -> str:
    """`escalated at turn 3: frustration 0.82 >= 0.75; ...` or `not escalated`."""
    if not result.get("escalated"):
        return "not escalated"
    turn = _escalating_turn(result) or {}
    details = [
        f"{r['trigger']}: {r['detail']}"
        for r in turn.get("reasons", [])
        if r.get("mode") == "immediate"
    ]
    return f"escalated at turn {result['escalated_at_turn']} ({'; '.join(details)})"


def compare(
    first: Sequence[dict[str, Any]],
    second: Sequence[dict[str, Any]],
    *,
    names: tuple[str, str] = ("A", "B"),
) -> dict[str, Any]:
    """Both summaries, and every conversation whose outcome differs (escalated or not, at which
    turn, for which reasons), with each side's own explanation."""
    changed: list[dict[str, Any]] = []
    counts: Counter[str] = Counter()
    for a, b in zip(first, second, strict=True):
        kind = _difference(a, b)
        if kind is None:
            continue
        counts[kind] += 1
        changed.append(
            {
                "id": a.get("id"),
                "change": kind,
                names[0]: _side(a),
                names[1]: _side(b),
                "why": f"{names[0]}: {outcome_line(a)} | {names[1]}: {outcome_line(b)}",
            }
        )
    return {
        "policies": list(names),
        "summary": {names[0]: summarize(first), names[1]: summarize(second)},
        "changes": dict(counts.most_common()),
        "changed": changed,
    }


def _difference(a: dict[str, Any], b: dict[str, Any]) -> str | None:
    if a.get("escalated") != b.get("escalated"):
        return "newly_escalated" if b.get("escalated") else "no_longer_escalated"
    if not a.get("escalated"):
        return None
    if a.get("escalated_at_turn") != b.get("escalated_at_turn"):
        return "earlier" if b["escalated_at_turn"] < a["escalated_at_turn"] else "later"
    if set(a.get("reasons") or []) != set(b.get("reasons") or []):
        return "different_reasons"
    return None


def _side(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "escalated": bool(result.get("escalated")),
        "escalated_at_turn": result.get("escalated_at_turn"),
        "reasons": list(result.get("reasons") or []),
        "outcome": outcome_line(result),
    }


def format_summary(summary: dict[str, Any], title: str = "policy") -> str:
    """The summary as a few readable lines."""
    median = summary["median_escalation_turn"]
    lines = [
        f"{title}: {summary['escalated']} of {summary['conversations']} conversations escalated "
        f"({summary['escalation_rate']:.1%}); median escalation turn "
        f"{median if median is not None else '-'}; {summary['offered']} offered a person",
    ]
    if summary["reasons"]:
        lines.append("  reasons:")
        width = max(len(name) for name in summary["reasons"])
        for name, count in summary["reasons"].items():
            lines.append(f"    {name:<{width}}  {count:>5}  {_bar(count, summary['escalated'])}")
    if summary["conditions"]:
        lines.append(
            "  conditions: " + ", ".join(f"{k} {v}" for k, v in summary["conditions"].items())
        )
    return "\n".join(lines)


def _bar(count: int, total: int, width: int = 30) -> str:
    return "#" * max(1, round(width * count / total)) if total else ""


def format_comparison(report: dict[str, Any], limit: int = 50) -> str:
    """The comparison as a readable report: both summaries, then what changed and why."""
    first, second = report["policies"]
    lines = [
        format_summary(report["summary"][first], first),
        "",
        format_summary(report["summary"][second], second),
        "",
    ]
    changed: list[dict[str, Any]] = report["changed"]
    if not changed:
        lines.append("No conversation has a different outcome.")
        return "\n".join(lines)
    tally = ", ".join(
        f"{name.replace('_', ' ')} {count}" for name, count in report["changes"].items()
    )
    lines.append(f"{len(changed)} conversations differ ({tally}):")
    for item in changed[:limit]:
        lines.append(f"- {item['id']}  [{item['change'].replace('_', ' ')}]")
        lines.append(f"    {first}: {item[first]['outcome']}")
        lines.append(f"    {second}: {item[second]['outcome']}")
    if len(changed) > limit:
        lines.append(f"... and {len(changed) - limit} more (use --json for all of them)")
    return "\n".join(lines)
