"""A customer message's write on PostgreSQL in a single statement.

The engine's write is an optimistic append (the conversation row moves only if its sequence
number is still the one read), the events, the idempotent answer, the conversation's metrics
row and the notice to the other workers. As separate statements in a transaction that is six
round trips, and each one makes
the writing thread wait for the interpreter lock again behind threads busy understanding other
messages. As one autocommit statement with data-modifying CTEs it is one round trip, and just as
atomic: all of it happens, or (the conversation moved, or the key was used) none of it.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, text

from warmline.storage.broadcast import EVENTS
from warmline.storage.conversations import ConversationMoved, PreparedAppend
from warmline.storage.idempotency import PreparedAnswer

_MOVE = """
WITH moved AS (
    UPDATE conversations SET
        last_seq = :last_seq, status = :status, agent = :agent, priority = :priority,
        route = :route, updated_at = clock_timestamp(){handoff}
    WHERE id = :conversation_id AND last_seq = :expected_seq
    RETURNING id
),
stored AS (
    INSERT INTO events (conversation_id, seq, type, ts, data)
    SELECT moved.id, row.seq, row.type, row.ts, row.data
    FROM moved, unnest(
        CAST(:seqs AS integer[]), CAST(:types AS varchar[]),
        CAST(:tss AS timestamptz[]), CAST(:datas AS jsonb[])
    ) AS row(seq, type, ts, data)
    RETURNING 1
){answer}{facts},
announced AS (SELECT pg_notify(:channel, :notice) FROM moved)
SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM announced)
"""
_HANDOFF = ", queued_at = :queued_at, senior = :senior, frustration = :frustration"
_ANSWER = """,
answered AS (
    INSERT INTO idempotency_keys (conversation_id, key, request_hash, response, created_at)
    SELECT moved.id, :key, :request_hash, CAST(:response AS jsonb), clock_timestamp()
    FROM moved
    RETURNING 1
)"""


_FACTS = """,
facts AS (
    INSERT INTO conversation_facts (conversation_id, seq, data)
    SELECT moved.id, :last_seq, CAST(:facts AS jsonb) FROM moved
    ON CONFLICT (conversation_id) DO UPDATE SET seq = excluded.seq, data = excluded.data
    RETURNING 1
)"""


def write_message(
    connection: Connection, append: PreparedAppend, answer: PreparedAnswer | None
) -> None:
    """Write one message's append (and answer) in one autocommit statement; raise
    `ConversationMoved` if the conversation moved on (then nothing is written)."""
    handoff = "queued_at" in append.projection
    statement = _MOVE.format(
        handoff=_HANDOFF if handoff else "",
        answer=_ANSWER if answer is not None else "",
        facts=_FACTS if append.facts is not None else "",
    )
    values: dict[str, Any] = {
        **append.projection,
        "conversation_id": append.conversation_id,
        "expected_seq": append.expected_seq,
        "seqs": [row["seq"] for row in append.rows],
        "types": [row["type"] for row in append.rows],
        "tss": [row["ts"] for row in append.rows],
        "datas": [json.dumps(row["data"], ensure_ascii=False) for row in append.rows],
        "channel": EVENTS,
        "notice": f"{append.conversation_id}:{append.projection['last_seq']}",
    }
    if append.facts is not None:
        values["facts"] = json.dumps(append.facts, ensure_ascii=False)
    if answer is not None:
        values.update(
            key=answer.key,
            request_hash=answer.request_hash,
            response=json.dumps(answer.response, ensure_ascii=False),
        )
    moved = connection.execute(text(statement), values).scalar_one()
    if moved != 1:
        raise ConversationMoved(append.conversation_id)
