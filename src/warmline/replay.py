"""Replay recorded conversations through the pipeline (no database): the `replay` contract,
and the basis of what-if runs of a policy on past conversations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from warmline.analytics.satisfaction import estimated_satisfaction
from warmline.domain.conversation import Conversation
from warmline.domain.events import AgentMessage, AnalysisRecorded, CustomerMessage, HandedOff
from warmline.engine import Analyzer, InboundMessage, Pipeline
from warmline.handoff.packet import build_packet
from warmline.understanding.emotion.trajectory import SPEECH_CUES_KEY
from warmline.understanding.serialize import analysis_to_dict
from warmline.understanding.types import Trajectory

if TYPE_CHECKING:
    from warmline.handoff.llm import LlmClient


class ReplayInputError(ValueError):
    """A conversation record does not follow the input contract."""


def parse_turns(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Validate the `turns` of one input record; raise ReplayInputError saying what is wrong."""
    turns = record.get("turns")
    if not isinstance(turns, list):
        raise ReplayInputError('"turns" must be a list')
    parsed: list[dict[str, Any]] = []
    for number, turn in enumerate(turns, start=1):
        if not isinstance(turn, dict):
            raise ReplayInputError(f"turn {number} must be an object")
        speaker = turn.get("speaker")
        text = turn.get("text")
        if speaker not in ("customer", "agent"):
            raise ReplayInputError(f'turn {number}: "speaker" must be "customer" or "agent"')
        if not isinstance(text, str):
            raise ReplayInputError(f'turn {number}: "text" must be a string')
        cues = turn.get(SPEECH_CUES_KEY)
        if cues is not None and not isinstance(cues, list):
            raise ReplayInputError(f'turn {number}: "{SPEECH_CUES_KEY}" must be a list')
        parsed.append(
            {
                "speaker": speaker,
                "text": text,
                "ts": _timestamp(turn.get("ts"), number),
                SPEECH_CUES_KEY: cues or None,
            }
        )
    return parsed


def _timestamp(value: Any, number: int) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), tz=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ReplayInputError(f'turn {number}: "ts" is not an ISO 8601 time') from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed
    raise ReplayInputError(f'turn {number}: "ts" must be an ISO 8601 string or a number')


def replay_conversation(
    pipeline: Pipeline, record: dict[str, Any]
) -> tuple[dict[str, Any], Conversation]:
    """Run the customer turns of one record through the pipeline, in order.

    Agent turns are context only: they join the transcript but are not answered. Turns are
    numbered from 1 among the customer turns.
    """
    turns = parse_turns(record)
    conversation_id = str(record.get("id", ""))
    conversation = Conversation(id=conversation_id)
    out_turns: list[dict[str, Any]] = []
    escalated_at: int | None = None
    reasons: list[str] = []
    packet: dict[str, Any] | None = None
    number = 0
    trajectory = Trajectory()
    for turn in turns:
        if turn["speaker"] == "agent":
            conversation.apply(AgentMessage(agent="agent", text=turn["text"], **_ts(turn)))
            continue
        number += 1
        # A phone call's turn carries its speech cues (docs/calls.md), as it did live.
        cues = turn[SPEECH_CUES_KEY]
        message = InboundMessage(
            conversation_id,
            turn["text"],
            ts=turn["ts"],
            meta={SPEECH_CUES_KEY: cues} if cues else None,
        )
        outcome = pipeline.process(conversation, message, None)
        for event in outcome.events:
            conversation.apply(event)
        decision = outcome.decision
        analysis = outcome.analysis
        if decision is None or analysis is None:
            raise RuntimeError("the pipeline returned no decision")
        if decision.escalates and escalated_at is None:
            escalated_at = number
            reasons = decision.reason_names
            handoff = next(e for e in outcome.events if isinstance(e, HandedOff))
            packet = handoff.packet
        trajectory = analysis.trajectory
        out_turns.append(
            {
                "turn": number,
                "text": turn["text"],
                "decision": decision.action.value,
                "reasons": [reason.as_dict() for reason in decision.reasons],
                "frustration": round(analysis.emotion.frustration, 4),
                "conversation_frustration": round(analysis.trajectory.level, 4),
                "intent": analysis.intent.intent,
                "reply": outcome.reply,
            }
        )
    result = {
        "id": record.get("id"),
        "escalated": escalated_at is not None,
        "escalated_at_turn": escalated_at,
        "reasons": reasons,
        # The conversation's frustration as a whole (the mean of its customer turns), its most
        # upset turn and its end; null without customer turns.
        "frustration": trajectory.remembered if number else None,
        "frustration_peak": trajectory.maximum if number else None,
        "frustration_end": trajectory.last if number else None,
        # The likely CSAT (1.0-5.0) from the conversation's course; the bot's replayed replies
        # are what it would have said, so only what people wrote back counts as replies.
        "satisfaction": estimated_satisfaction(conversation, bot_replies=False) if number else None,
        "turns": out_turns,
        "packet": packet,
    }
    return result, conversation


def _ts(turn: dict[str, Any]) -> dict[str, Any]:
    return {"ts": turn["ts"]} if turn["ts"] is not None else {}


def transcript_conversation(analyzer: Analyzer, record: dict[str, Any]) -> Conversation:
    """The recorded conversation as events: customer turns analysed, agent turns kept, and no
    bot replies invented (what a person taking over would actually see)."""
    conversation = Conversation(id=str(record.get("id", "")))
    for turn in parse_turns(record):
        stamp = _ts(turn)
        if turn["speaker"] == "agent":
            conversation.apply(AgentMessage(agent="agent", text=turn["text"], **stamp))
            continue
        analysis, state = analyzer.analyze(
            turn["text"], state=conversation.tracker_state, ts=turn["ts"]
        )
        conversation.apply(CustomerMessage(text=turn["text"], **stamp))
        conversation.apply(
            AnalysisRecorded(analysis=analysis_to_dict(analysis), tracker_state=state, **stamp)
        )
    return conversation


def summarize_conversation(
    analyzer: Analyzer, record: dict[str, Any], *, llm: LlmClient | None = None
) -> dict[str, Any]:
    """The `summarize` contract: the packet as if handed over after the last turn; with `llm`,
    its summary and first line drafted by the language model (offline on any failure)."""
    conversation = transcript_conversation(analyzer, record)
    packet = build_packet(conversation, reasons=[])
    if llm is not None:
        from warmline.handoff.llm import enrich_packet

        packet = enrich_packet(packet, conversation, llm)
    return {"id": record.get("id"), "summary": "\n".join(packet["bullets"]), "packet": packet}
