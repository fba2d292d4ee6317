"""A phone call into a conversation: read the transcript (and the recording, if any), measure
the speech cues of each caller turn, and store the call through the engine like any past
conversation (`channels/imports.py`): caller turns are understood in order at their own
times, with their speech cues in the message's meta, agent turns kept as said.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from warmline.channels.calls.acoustics import acoustic_cues, read_recording
from warmline.channels.calls.formats import read_transcript
from warmline.channels.calls.segments import (
    CallRefused,
    Segment,
    Turn,
    check_segments,
    group_turns,
    resolve_roles,
)
from warmline.channels.calls.timing import timing_cues
from warmline.channels.imports import ImportRefused, PastTurn, check_times, import_conversation
from warmline.channels.service import CustomerDetails
from warmline.domain.conversation import Conversation
from warmline.domain.events import utc_now
from warmline.engine import Engine
from warmline.understanding.emotion.trajectory import SPEECH_CUES_KEY
from warmline.understanding.types import Signal

CHANNEL = "voice"


@dataclass(frozen=True)
class CallReading:
    """A call read and measured, ready to store."""

    segments: tuple[Segment, ...]
    roles: dict[str, str]
    turns: tuple[Turn, ...]
    cues: dict[int, list[Signal]]
    voices: dict[int, dict[str, Any]] = field(default_factory=dict)
    recording_seconds: float | None = None

    @property
    def duration(self) -> float:
        return max(segment.end for segment in self.segments)

    def cue_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for found in self.cues.values():
            for cue in found:
                counts[cue.name] = counts.get(cue.name, 0) + 1
        return dict(sorted(counts.items()))

    def past_turns(self, started_at: datetime) -> list[PastTurn]:
        """The turns at their times, caller turns with what the channel measured."""
        past: list[PastTurn] = []
        for index, turn in enumerate(self.turns):
            meta: dict[str, Any] | None = None
            if turn.role == "customer":
                meta = {
                    "call": {
                        "speaker": turn.speaker,
                        "start": round(turn.start, 3),
                        "end": round(turn.end, 3),
                    },
                    SPEECH_CUES_KEY: [
                        {"name": cue.name, "evidence": cue.evidence, "strength": cue.strength}
                        for cue in self.cues.get(index, [])
                    ],
                }
                if index in self.voices:
                    meta["voice"] = self.voices[index]
            past.append(
                PastTurn(
                    speaker=turn.role,
                    text=turn.text,
                    ts=started_at + timedelta(seconds=turn.start),
                    meta=meta,
                )
            )
        return past


def read_call(
    transcript: bytes,
    *,
    name: str = "",
    fmt: str | None = None,
    customer: str | None = None,
    agent: str | None = None,
    recording: bytes | None = None,
    recording_name: str = "",
    max_chars: int = 10_000,
) -> CallReading:
    """Read, check and measure a call; raise `CallRefused` saying what is wrong."""
    segments = read_transcript(transcript, name=name, fmt=fmt)
    check_segments(segments)
    roles = resolve_roles(segments, customer=customer, agent=agent)
    turns = group_turns(segments, roles)
    for number, turn in enumerate(turns, start=1):
        if len(turn.text) > max_chars:
            raise CallRefused(
                f"turn {number} ({turn.role}, from {turn.start:g} s) is longer than "
                f"{max_chars} characters",
                kind="message-too-long",
            )
    cues = timing_cues(turns, segments)
    voices: dict[int, dict[str, Any]] = {}
    seconds = None
    if recording is not None:
        audio = read_recording(recording, name=recording_name)
        seconds = round(audio.seconds, 2)
        heard, voices = acoustic_cues(turns, audio)
        for index, found in heard.items():
            cues.setdefault(index, []).extend(found)
    return CallReading(
        segments=tuple(segments),
        roles=roles,
        turns=tuple(turns),
        cues=cues,
        voices=voices,
        recording_seconds=seconds,
    )


def import_call(
    engine: Engine,
    reading: CallReading,
    *,
    details: CustomerDetails | None = None,
    started_at: datetime | None = None,
    resolved: bool = True,
) -> Conversation:
    """Store the call as a conversation on the voice channel. Without `started_at` the call
    is taken to have ended now."""
    if started_at is not None and started_at.tzinfo is None:
        raise CallRefused("the call's start time needs a time zone", kind="call-bad-times")
    start = started_at or utc_now() - timedelta(seconds=reading.duration)
    turns = reading.past_turns(start)
    try:
        check_times(turns)
    except ImportRefused as refused:
        raise CallRefused(f"the call {refused}", kind="call-bad-times") from None
    return import_conversation(
        engine, channel=CHANNEL, details=details, turns=turns, resolved=resolved
    )
