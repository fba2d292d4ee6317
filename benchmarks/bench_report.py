"""The report over many conversations: how long `warmline report` takes.

Generates N conversations (default 100,000) straight into a fresh database (bulk inserts of
realistic events: a real analysis of a customer message, a decision and a reply; a third handed
over, taken by an agent, resolved and surveyed; and each conversation's metrics row, as every
append stores it), then times `period_report` over all of them,
as `warmline report` and `GET /api/v1/report` run it. Target: <= 10 s (issue 15), on SQLite and
on PostgreSQL (`--postgres`: a throwaway cluster, as the tests start).

    python benchmarks/bench_report.py [--conversations N] [--postgres] [--write-docs]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from perfdoc import record_measurement
from warmline.analytics.metrics import facts_record, period_report
from warmline.domain.conversation import Conversation
from warmline.domain.events import (
    AgentAssigned,
    AgentMessage,
    AnalysisRecorded,
    BotReply,
    CustomerMessage,
    DecisionMade,
    Event,
    FeedbackGiven,
    HandedOff,
    Resolved,
    event_to_dict,
)
from warmline.storage.db import make_engine, make_session_factory
from warmline.storage.migrate import upgrade
from warmline.storage.models import ConversationFactsRow, ConversationRow, EventRow
from warmline.understanding.analyzer import DefaultAnalyzer
from warmline.understanding.serialize import analysis_to_dict

TARGET_SECONDS = 10.0
START = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)


def _analyses() -> list[dict[str, Any]]:
    analyzer = DefaultAnalyzer.load()
    texts = (
        "where is my order 12345?",
        "I was charged twice this month, this is ridiculous",
        "how do I reset my password",
        "I want to talk to a person now",
    )
    return [analysis_to_dict(analyzer.analyze(text, state={})[0]) for text in texts]


def _events(number: int, rng: random.Random, analyses: list[dict[str, Any]]) -> list[Event]:
    at = START + dt.timedelta(seconds=number * 26)  # 100,000 over about a month
    analysis = analyses[number % len(analyses)]
    handed = number % 3 == 0

    def t(seconds: float) -> dt.datetime:
        return at + dt.timedelta(seconds=seconds)

    found: list[Event] = [
        CustomerMessage(text="where is my order 12345? it's late", ts=t(0)),
        AnalysisRecorded(analysis=analysis, ts=t(0)),
        DecisionMade(action="escalate" if handed else "answer", reasons=[], ts=t(0.1)),
        BotReply(text="Your order is on its way and arrives tomorrow.", kind="answer", ts=t(1)),
    ]
    if handed:
        found += [
            HandedOff(reasons=["escape_hatch"], ts=t(1)),
            AgentAssigned(agent=f"agent{number % 7}", ts=t(60 + rng.random() * 600)),
            AgentMessage(agent="agent", text="I've checked with the courier.", ts=t(700)),
            Resolved(by="agent", ts=t(900)),
            FeedbackGiven(csat=1 + number % 5, felt_heard=number % 2 == 0, ts=t(1000)),
        ]
    return found


def generate(url: str, count: int) -> None:
    """Insert `count` conversations in batches."""
    engine = make_engine(url)
    analyses = _analyses()
    rng = random.Random(7)
    batch = 2000
    with engine.begin() as connection:
        for start in range(0, count, batch):
            conversations, events, facts = [], [], []
            for number in range(start, min(count, start + batch)):
                cid = f"bench{number:07d}"
                made = _events(number, rng, analyses)
                resolved = any(isinstance(e, Resolved) for e in made)
                conversations.append(
                    {
                        "id": cid,
                        "customer_id": None,
                        "channel": "web",
                        "status": "resolved" if resolved else "bot",
                        "priority": 0.0,
                        "senior": False,
                        "frustration": 0.0,
                        "last_seq": len(made),
                        "created_at": made[0].ts,
                        "updated_at": made[-1].ts,
                    }
                )
                events += [
                    {
                        "conversation_id": cid,
                        "seq": seq,
                        "type": event.type,  # type: ignore[attr-defined]
                        "ts": event.ts,
                        "data": event_to_dict(event),
                    }
                    for seq, event in enumerate(made, 1)
                ]
                # What every append stores as it happens (`conversation_facts`).
                record = facts_record(Conversation.replay(cid, made, channel="web"))
                facts.append({"conversation_id": cid, "seq": len(made), "data": record})
            connection.execute(insert(ConversationRow), conversations)
            connection.execute(insert(EventRow), events)
            connection.execute(insert(ConversationFactsRow), facts)
    engine.dispose()


def measure(url: str, count: int) -> tuple[float, float, int]:
    """(seconds to generate, seconds for the report, conversations it counted)."""
    upgrade(url)
    started = time.perf_counter()
    generate(url, count)
    generated = time.perf_counter() - started
    sessions = make_session_factory(make_engine(url))
    started = time.perf_counter()
    with sessions() as session:
        made = period_report(session)
    return generated, time.perf_counter() - started, int(made.numbers["conversations"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument(
        "--postgres", action="store_true", help="on a throwaway PostgreSQL cluster (not SQLite)"
    )
    parser.add_argument("--write-docs", action="store_true", help="update docs/performance.md")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        if args.postgres:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
            from pg import throwaway_cluster

            url, backend = stack.enter_context(throwaway_cluster()), "PostgreSQL"
        else:
            scratch = stack.enter_context(tempfile.TemporaryDirectory())
            url, backend = f"sqlite:///{Path(scratch) / 'report.db'}", "SQLite"
        generated, seconds, counted = measure(url, args.conversations)
    ok = seconds <= TARGET_SECONDS and counted == args.conversations
    line = (
        f"{'PASS' if ok else 'FAIL'} report over {counted:,} conversations ({backend}): "
        f"{seconds:.1f} s (target <= {TARGET_SECONDS:.0f} s); generated in {generated:.0f} s"
    )
    print(line, flush=True)
    if args.write_docs:
        record_measurement(
            [line],
            command="python benchmarks/bench_report.py --write-docs",
            subsection=f"Report over many conversations, {backend}",
            section="Analytics",
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
