"""What-if replay: `warmline replay FILE --policy A.yaml [--compare B.yaml]` through the real
command, and the summary and comparison it prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from helpers import TEST_ENVIRONMENT
from warmline.policy.loader import DEFAULT_POLICY_FILE
from warmline.whatif import compare, format_comparison, summarize

WARMLINE = [sys.executable, "-m", "warmline"]
CONVERSATIONS = [
    {
        "id": "calm",
        "turns": [
            {"speaker": "customer", "text": "hi, how do I reset my password?", "ts": 1790000000},
            {"speaker": "agent", "text": "Use the Forgot password link."},
            {"speaker": "customer", "text": "thanks, that worked", "ts": 1790000060},
        ],
    },
    {
        "id": "bereaved",
        "turns": [
            {
                "speaker": "customer",
                "text": "My husband passed away last month and I need to close his account.",
                "ts": 1790000000,
            }
        ],
    },
    {
        "id": "person",
        "turns": [
            {"speaker": "customer", "text": "my invoice is wrong", "ts": 1790000000},
            {"speaker": "customer", "text": "I want to talk to a real person", "ts": 1790000100},
        ],
    },
]
# Sensitive topics and frustration off: the bereaved customer (a sad message, which the emotion
# model may also score as upset) is then not handed over on their only turn.
WITHOUT_TOPICS = (
    "name: no-topics\ntriggers:\n  sensitive_topic:\n    enabled: false\n"
    "  frustration:\n    enabled: false\n"
)


def run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **TEST_ENVIRONMENT, "WARMLINE_DATA_DIR": str(tmp_path)}
    env.pop("WARMLINE_POLICY_FILE", None)
    return subprocess.run(
        [*WARMLINE, *args], capture_output=True, text=True, env=env, timeout=600, check=False
    )


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "past.jsonl"
    path.write_text("\n".join(json.dumps(c) for c in CONVERSATIONS) + "\n")
    return path


@pytest.fixture
def lenient(tmp_path: Path) -> Path:
    path = tmp_path / "no-topics.yaml"
    path.write_text(WITHOUT_TOPICS)
    return path


def test_policy_keeps_the_lines_and_adds_a_summary_on_stderr(source: Path, tmp_path: Path) -> None:
    plain = run(["replay", str(source)], tmp_path)
    with_policy = run(["replay", str(source), "--policy", str(DEFAULT_POLICY_FILE)], tmp_path)
    assert plain.returncode == with_policy.returncode == 0, with_policy.stderr
    lines = [json.loads(line) for line in with_policy.stdout.splitlines()]
    assert lines == [json.loads(line) for line in plain.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["calm", "bereaved", "person"]
    assert "conversations escalated" not in plain.stderr
    escalated = sum(line["escalated"] for line in lines)
    assert f"{escalated} of 3 conversations escalated" in with_policy.stderr
    assert "escape_hatch" in with_policy.stderr and "median escalation turn" in with_policy.stderr


def test_summary_prints_the_escalation_rate_reasons_and_median_turn(
    source: Path, tmp_path: Path
) -> None:
    result = run(
        ["replay", str(source), "--policy", str(DEFAULT_POLICY_FILE), "--summary"], tmp_path
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["conversations"] == 3
    assert summary["reasons"]["escape_hatch"] == 1
    assert summary["reasons"]["sensitive_topic"] == 1
    assert summary["escalation_rate"] == pytest.approx(summary["escalated"] / 3, abs=1e-4)
    assert summary["median_escalation_turn"] is not None
    assert summary["policy"].startswith("default@")


def test_compare_lists_the_conversations_whose_outcome_differs_and_why(
    source: Path, lenient: Path, tmp_path: Path
) -> None:
    args = ["replay", str(source), "--policy", str(DEFAULT_POLICY_FILE), "--compare", str(lenient)]
    readable = run(args, tmp_path)
    assert readable.returncode == 0, readable.stderr
    assert "default.yaml:" in readable.stdout and "no-topics.yaml:" in readable.stdout
    assert "bereaved  [no longer escalated]" in readable.stdout
    assert "sensitive_topic" in readable.stdout
    report = json.loads(run([*args, "--json"], tmp_path).stdout)
    changed = {item["id"]: item for item in report["changed"]}
    assert "bereaved" in changed and "person" not in changed and "calm" not in changed
    bereaved = changed["bereaved"]
    assert bereaved["change"] == "no_longer_escalated"
    assert "sensitive_topic" in bereaved["default.yaml"]["reasons"]
    assert bereaved["no-topics.yaml"]["escalated"] is False
    assert "sensitive topic bereavement" in bereaved["why"]
    assert report["labels"]["no-topics.yaml"].startswith("no-topics@")
    summaries = report["summary"]
    assert summaries["default.yaml"]["escalated"] == summaries["no-topics.yaml"]["escalated"] + 1


def test_an_invalid_policy_is_refused_with_file_line_and_field(
    source: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("triggers:\n  low_confidence:\n    threshold: 7\n")
    result = run(
        ["replay", str(source), "--policy", str(DEFAULT_POLICY_FILE), "--compare", str(bad)],
        tmp_path,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert f"{bad}:3:5: triggers.low_confidence.threshold" in result.stderr


# --- the summary and comparison themselves (no models needed) -------------------------------


def result(
    conversation_id: str, escalated_at: int | None, reasons: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    turns = [
        {
            "turn": number,
            "decision": "escalate" if number == escalated_at else "answer",
            "reasons": reasons if number == escalated_at else [],
        }
        for number in range(1, 5)
    ]
    names = sorted({r["trigger"] for r in reasons or []})
    return {
        "id": conversation_id,
        "escalated": escalated_at is not None,
        "escalated_at_turn": escalated_at,
        "reasons": names,
        "turns": turns,
    }


FRUSTRATED = {
    "trigger": "frustration",
    "detail": "frustration 0.55 >= 0.50 for 2 turns",
    "mode": "immediate",
    "condition": "persistent",
}
ASKED = {
    "trigger": "escape_hatch",
    "detail": 'customer asked for a person: "agent"',
    "mode": "immediate",
}


def test_summarize_counts_reasons_conditions_and_the_median_turn() -> None:
    summary = summarize(
        [result("a", 2, [FRUSTRATED]), result("b", 4, [FRUSTRATED, ASKED]), result("c", None)]
    )
    assert summary["escalated"] == 2 and summary["escalation_rate"] == pytest.approx(0.6667)
    assert summary["reasons"] == {"frustration": 2, "escape_hatch": 1}
    assert summary["conditions"] == {"frustration.persistent": 2, "escape_hatch": 1}
    assert summary["median_escalation_turn"] == 3


def test_compare_explains_each_change() -> None:
    before = [result("a", 2, [FRUSTRATED]), result("b", 3, [ASKED]), result("c", None)]
    after = [result("a", None), result("b", 3, [ASKED]), result("c", 1, [ASKED])]
    report = compare(before, after, names=("old", "new"))
    assert report["changes"] == {"no_longer_escalated": 1, "newly_escalated": 1}
    first = report["changed"][0]
    assert first["id"] == "a"
    assert first["why"] == (
        "old: escalated at turn 2 (frustration: frustration 0.55 >= 0.50 for 2 turns) "
        "| new: not escalated"
    )
    text = format_comparison(report)
    assert "2 conversations differ" in text and "- c  [newly escalated]" in text
