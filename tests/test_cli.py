"""The `warmline` command: contracts over JSONL, chat, database and version commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import TEST_ENVIRONMENT

WARMLINE = [sys.executable, "-m", "warmline"]
TWO_CONVERSATIONS = [
    {
        "id": "c1",
        "turns": [
            {"speaker": "customer", "text": "hi, how do I reset my password?"},
            {"speaker": "agent", "text": "Use the Forgot password link."},
            {"speaker": "customer", "text": "thanks, that worked"},
        ],
    },
    {
        "id": "c2",
        "turns": [
            {"speaker": "customer", "text": "my invoice is wrong", "ts": "2026-11-01T10:00:00Z"},
            {"speaker": "customer", "text": "I want to talk to a real person", "ts": 1793527300},
        ],
    },
]


def run(
    args: list[str], stdin: str = "", tmp_path: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **TEST_ENVIRONMENT}
    if tmp_path is not None:
        env["WARMLINE_DATA_DIR"] = str(tmp_path)
    return subprocess.run(
        [*WARMLINE, *args], input=stdin, capture_output=True, text=True, env=env, timeout=300
    )


def test_version() -> None:
    result = run(["version"])
    assert result.returncode == 0
    assert result.stdout.strip() == "0.1.0"


def test_replay_prints_the_contract_for_each_conversation(tmp_path: Path) -> None:
    source = tmp_path / "two.jsonl"
    source.write_text("\n".join(json.dumps(c) for c in TWO_CONVERSATIONS) + "\n")
    result = run(["replay", str(source)])
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["c1", "c2"]
    for line in lines:
        assert set(line) >= {"id", "escalated", "escalated_at_turn", "reasons", "turns", "packet"}
        for turn in line["turns"]:
            assert set(turn) >= {"turn", "text", "decision", "reasons", "frustration"}
    calm, escalated = lines
    assert [t["turn"] for t in calm["turns"]] == [1, 2]  # agent turns are context only
    assert not calm["escalated"] and calm["packet"] is None
    assert escalated["escalated"] and escalated["escalated_at_turn"] == 2
    assert "escape_hatch" in escalated["reasons"]
    assert escalated["packet"]["bullets"]
    # The conversation's frustration: the mean of its turns' (effective) frustration, between
    # the calmest turn and the most upset one.
    for line in lines:
        peak, end = line["frustration_peak"], line["frustration_end"]
        assert min(t["frustration"] for t in line["turns"]) - 1e-4 <= line["frustration"] <= peak
        assert peak >= max(t["conversation_frustration"] for t in line["turns"])
        assert 0.0 <= end <= peak
    assert calm["frustration"] < 0.5


def test_replay_ranks_a_resolved_complaint_below_an_unresolved_one() -> None:
    """Both start upset; only the ending differs (peak-end: the ending counts)."""
    opening = "My internet has been down all day and I work from home, this is so frustrating"
    endings = {"resolved": "It's back! Thanks so much for the quick help",
               "unresolved": "I already did that. Never mind, forget it."}  # fmt: skip
    agent = {"speaker": "agent", "text": "Please restart the router."}
    records = [
        {"id": name, "turns": [{"speaker": "customer", "text": opening}, agent,
                               {"speaker": "customer", "text": ending}]}
        for name, ending in endings.items()
    ]  # fmt: skip
    result = run(["replay", "-"], stdin="".join(json.dumps(r) + "\n" for r in records))
    assert result.returncode == 0, result.stderr
    resolved, unresolved = (json.loads(line) for line in result.stdout.splitlines())
    assert resolved["frustration_peak"] >= 0.5 and resolved["frustration_end"] < 0.2
    assert unresolved["frustration"] >= resolved["frustration"] + 0.2


def test_replay_without_customer_turns_has_no_frustration() -> None:
    record = {"id": "a", "turns": [{"speaker": "agent", "text": "Hello, how can I help?"}]}
    result = run(["replay", "-"], stdin=json.dumps(record) + "\n")
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stdout)
    assert line["turns"] == [] and line["frustration"] is None
    assert line["frustration_peak"] is None and line["frustration_end"] is None


def test_replay_of_angry_conversation_reports_high_frustration() -> None:
    angry = {
        "id": "c3",
        "turns": [
            {"speaker": "customer", "text": "my parcel is three weeks late"},
            {"speaker": "agent", "text": "Sorry, could you send the order number?"},
            {"speaker": "customer", "text": "I already gave it TWICE. This is useless, fed up"},
        ],
    }
    result = run(["replay", "-"], stdin=json.dumps(angry) + "\n")
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stdout)
    assert line["frustration"] >= 0.5 and line["frustration_peak"] >= 0.85


def test_replay_reads_stdin() -> None:
    result = run(["replay", "-"], stdin=json.dumps(TWO_CONVERSATIONS[1]) + "\n")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["escalated"] is True


@pytest.mark.parametrize(
    "bad",
    [
        "not json\n",
        "[1, 2]\n",
        '{"id": 1, "turns": "hello"}\n',
        '{"id": 1, "turns": [{"speaker": "robot", "text": "x"}]}\n',
        '{"id": 1, "turns": [{"speaker": "customer"}]}\n',
        '{"id": 1, "turns": [{"speaker": "customer", "text": "x", "ts": "yesterday-ish"}]}\n',
    ],
)
def test_replay_malformed_input_exits_2_with_a_message(bad: str) -> None:
    result = run(["replay", "-"], stdin=bad)
    assert result.returncode == 2
    assert "error:" in result.stderr
    assert result.stdout == ""


def test_replay_missing_file_exits_2(tmp_path: Path) -> None:
    result = run(["replay", str(tmp_path / "missing.jsonl")])
    assert result.returncode == 2 and "no such file" in result.stderr


def test_chat_shows_each_decision_and_its_reasons(tmp_path: Path) -> None:
    script = "How do I reset my password?\nI want to talk to a real person\n/quit\n"
    result = run(["chat"], stdin=script, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    # No help centre imported in this fresh database: the bot offers to do it (the reset
    # action asks where to send the link) rather than answering from articles.
    assert "decision act" in result.stdout
    assert "email address on your account" in result.stdout
    assert "decision escalate" in result.stdout
    assert "reason escape_hatch" in result.stdout
    assert (tmp_path / "warmline.db").exists()  # the conversation was stored


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    result = run(["db", "upgrade"], tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "warmline.db").exists()


def test_production_refuses_default_secrets(tmp_path: Path) -> None:
    env = {**os.environ, "WARMLINE_ENV": "production", "WARMLINE_DATA_DIR": str(tmp_path)}
    env.pop("WARMLINE_API_KEY", None)
    result = subprocess.run(
        [*WARMLINE, "db", "upgrade"], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 2
    assert "WARMLINE_API_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_analyze_replay_and_summarize_print_no_card_numbers_or_contacts() -> None:
    text = "card 4111 1111 1111 1111 declined, mail jane.roe@example.org or call +44 20 7946 0958"
    planted = ["4111 1111 1111 1111", "4111111111111111", "jane.roe@example.org", "7946 0958"]
    analyzed = run(["analyze", "-"], stdin=json.dumps({"id": 1, "text": text}) + "\n")
    conversation = {"id": "c", "turns": [{"speaker": "customer", "text": text}]}
    replayed = run(["replay", "-"], stdin=json.dumps(conversation) + "\n")
    summarized = run(["summarize", "-"], stdin=json.dumps(conversation) + "\n")
    for result in (analyzed, replayed, summarized):
        assert result.returncode == 0, result.stderr
        assert [value for value in planted if value in result.stdout] == []
    assert "[CARD visa ending 1111]" in replayed.stdout
    entities = json.loads(analyzed.stdout)["entities"]
    assert {"type": "email", "value": "[EMAIL j***@example.org]"}.items() <= entities[0].items()


def test_serve_refuses_several_workers_on_sqlite(tmp_path: Path) -> None:
    result = run(["serve", "--workers", "2", "--port", "1"], tmp_path=tmp_path)
    assert result.returncode == 2
    assert "--workers above 1 needs PostgreSQL" in result.stderr


def test_jsonl_lines_end_at_newlines_only(tmp_path: Path) -> None:
    """A JSON string may hold U+2028 unescaped; it must not split the line (nor must CRLF)."""
    from warmline.cli.jsonl import read_jsonl

    path = tmp_path / "lines.jsonl"
    first = json.dumps({"text": "a\u2028b\u0085c"}, ensure_ascii=False)
    path.write_text(f"{first}\r\n" + json.dumps({"text": "d"}) + "\n", encoding="utf-8")
    assert read_jsonl(str(path)) == [{"text": "a\u2028b\u0085c"}, {"text": "d"}]


def test_a_bad_actions_file_or_mail_url_stops_the_server_with_where_and_why(
    tmp_path: Path,
) -> None:
    actions = tmp_path / "actions.yaml"
    actions.write_text(
        "actions:\n  - name: track\n    description: Track an order.\n"
        "    intents: [{name: order_status, description: Where is my order.}]\n"
        "    slots: [{name: order, description: the order, type: colour}]\n"
        "    call: {operation: track_order}\n    reply: ok\n",
        encoding="utf-8",
    )
    env = {**os.environ, **TEST_ENVIRONMENT, "WARMLINE_DATA_DIR": str(tmp_path)}
    for extra, expected in (
        ({"WARMLINE_ACTIONS_FILE": str(actions)}, f"{actions}:5:"),
        ({"WARMLINE_SMTP_URL": "http://mail.example.com"}, "WARMLINE_SMTP_URL"),
    ):
        result = subprocess.run(
            [*WARMLINE, "serve", "--port", "8999"],
            capture_output=True,
            text=True,
            env={**env, **extra},
            timeout=120,
        )
        assert result.returncode == 2, result.stderr
        assert expected in result.stderr
        assert "Traceback" not in result.stderr
