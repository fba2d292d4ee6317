"""Timed segments of a call, checked, with the speakers' roles, grouped into turns.

Every transcript format is read into `Segment`s (seconds from the start of the call). They
are checked once here: times finite, not negative, each segment ending after it starts, in
order of start, and one speaker never overlapping themself (two different speakers may:
that is talking over, a cue). Consecutive segments of one speaker make a `Turn`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from warmline.channels.imports import ImportRefused

MAX_CALL_SECONDS = 2 * 3600.0
MAX_SEGMENTS = 20_000
MAX_TURNS = 500
# Whisper's segments of one speaker may touch by a few milliseconds of rounding.
SAME_SPEAKER_TOLERANCE = 0.05
UNLABELLED = ""
# A speaker who goes on after this long a silence (nobody answered) starts a new turn.
TURN_BREAK_SECONDS = 5.0

CUSTOMER_NAMES = frozenset({"customer", "caller", "client", "user", "consumer", "patient"})
AGENT_NAMES = frozenset(
    {"agent", "operator", "support", "rep", "representative", "advisor", "adviser", "staff"}
)


class CallRefused(ImportRefused):
    """The call cannot be imported as given; `kind` names the problem (problem+json type)."""

    def __init__(self, message: str, *, kind: str = "call-refused", status: int = 422) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


@dataclass(frozen=True)
class Segment:
    """One stretch of speech: who (the transcript's label, "" when it has none), what, when
    (seconds from the start of the call)."""

    speaker: str
    text: str
    start: float
    end: float


@dataclass(frozen=True)
class Turn:
    """Consecutive segments of one speaker, with the role they have in the call."""

    role: str  # "customer" or "agent"
    speaker: str
    text: str
    start: float
    end: float
    segments: tuple[Segment, ...]

    @property
    def words(self) -> int:
        return len(self.text.split())


def check_segments(segments: Sequence[Segment]) -> None:
    """Refuse what cannot be a real call's timing; say which segment and why."""
    if not segments:
        raise CallRefused("the transcript has no segments", kind="call-transcript-empty")
    if len(segments) > MAX_SEGMENTS:
        raise CallRefused(
            f"the transcript has {len(segments)} segments (at most {MAX_SEGMENTS})",
            kind="call-too-long",
        )
    if not any(segment.text.strip() for segment in segments):
        raise CallRefused("the transcript has no words", kind="call-transcript-empty")
    previous: Segment | None = None
    last_end: dict[str, tuple[int, float]] = {}
    for number, segment in enumerate(segments, start=1):
        where = f"segment {number}"
        if not (math.isfinite(segment.start) and math.isfinite(segment.end)):
            raise CallRefused(f"{where} has a time that is not a number", kind="call-bad-times")
        if segment.start < 0 or segment.end < 0:
            raise CallRefused(f"{where} has a negative time", kind="call-bad-times")
        if segment.end < segment.start:
            raise CallRefused(
                f"{where} ends ({segment.end:g} s) before it starts ({segment.start:g} s)",
                kind="call-bad-times",
            )
        if segment.end > MAX_CALL_SECONDS:
            raise CallRefused(
                f"{where} ends after {MAX_CALL_SECONDS / 3600:g} h (the longest call imported)",
                kind="call-too-long",
            )
        if previous is not None and segment.start < previous.start:
            raise CallRefused(
                f"{where} starts ({segment.start:g} s) before segment {number - 1} "
                f"({previous.start:g} s): segments must be in order of time",
                kind="call-bad-times",
            )
        own = last_end.get(segment.speaker)
        if own is not None and segment.start < own[1] - SAME_SPEAKER_TOLERANCE:
            who = f"speaker {segment.speaker!r}" if segment.speaker else "the speaker"
            raise CallRefused(
                f"{where} overlaps segment {own[0]} of the same speaker ({who} cannot talk "
                f"twice at once: {segment.start:g} s < {own[1]:g} s)",
                kind="call-bad-times",
            )
        last_end[segment.speaker] = (number, max(segment.end, own[1] if own else 0.0))
        previous = segment


def speakers_in_order(segments: Sequence[Segment]) -> list[str]:
    """Speaker labels in order of first words."""
    seen: dict[str, None] = {}
    for segment in segments:
        if segment.text.strip():
            seen.setdefault(segment.speaker, None)
    return list(seen)


def resolve_roles(
    segments: Sequence[Segment], *, customer: str | None = None, agent: str | None = None
) -> dict[str, str]:
    """Which label is the caller and which the agent(s).

    Given `customer` (or `agent`), the other voices take the other role. Otherwise a label
    named like a caller ("customer", "caller"...) or an agent ("agent", "operator"...)
    decides; one voice alone (a voicemail, plain whisper output of the caller's channel) is
    the caller. Two or more unnamed voices are ambiguous: refused, naming them.
    """
    labels = speakers_in_order(segments)
    shown = ", ".join(repr(label) if label else "(no label)" for label in labels)
    for option, given in (("customer", customer), ("agent", agent)):
        if given is not None and given not in labels:
            raise CallRefused(
                f"the {option} speaker {given!r} is not in the transcript (speakers: {shown})",
                kind="call-unknown-speaker",
            )
    if customer is not None and agent is not None and customer == agent:
        raise CallRefused("the customer and the agent are the same speaker", kind="call-speakers")
    if UNLABELLED in labels and len(labels) > 1:
        number = next(i for i, s in enumerate(segments, 1) if s.speaker == UNLABELLED)
        raise CallRefused(
            f"segment {number} has no speaker while others have one ({shown})",
            kind="call-unknown-speaker",
        )
    if customer is not None:
        return {label: "customer" if label == customer else "agent" for label in labels}
    if agent is not None:
        others = [label for label in labels if label != agent]
        if len(others) > 1:
            raise CallRefused(
                f"several speakers besides the agent ({shown}): say which is the customer",
                kind="call-speakers-ambiguous",
            )
        return {label: "agent" if label == agent else "customer" for label in labels}
    named_customer = [label for label in labels if _named(label, CUSTOMER_NAMES)]
    named_agent = [label for label in labels if _named(label, AGENT_NAMES)]
    if len(named_customer) == 1:
        return {label: "customer" if label in named_customer else "agent" for label in labels}
    if len(labels) == 1 and not named_agent:
        return {labels[0]: "customer"}
    if len(named_agent) >= 1 and len(labels) - len(named_agent) <= 1:
        return {label: "agent" if label in named_agent else "customer" for label in labels}
    raise CallRefused(
        f"cannot tell which speaker is the customer ({shown}): name them (customer and agent) "
        "or say which one is the customer",
        kind="call-speakers-ambiguous",
    )


def _named(label: str, names: frozenset[str]) -> bool:
    words = label.lower().replace("_", " ").replace("-", " ").split()
    return bool(words) and (words[0] in names or label.lower() in names)


def group_turns(segments: Sequence[Segment], roles: dict[str, str]) -> list[Turn]:
    """Consecutive worded segments of one speaker, joined (a silence of `TURN_BREAK_SECONDS`
    starts a new turn); segments without words are dropped."""
    turns: list[Turn] = []
    current: list[Segment] = []

    def close() -> None:
        if current:
            turns.append(
                Turn(
                    role=roles[current[0].speaker],
                    speaker=current[0].speaker,
                    text=" ".join(" ".join(s.text.split()) for s in current),
                    start=current[0].start,
                    end=max(s.end for s in current),
                    segments=tuple(current),
                )
            )

    for segment in segments:
        if not segment.text.strip():
            continue
        if current and (
            segment.speaker != current[0].speaker
            or segment.start - max(s.end for s in current) >= TURN_BREAK_SECONDS
        ):
            close()
            current = []
        current.append(segment)
    close()
    if len(turns) > MAX_TURNS:
        raise CallRefused(
            f"the call has {len(turns)} turns (at most {MAX_TURNS})", kind="call-too-long"
        )
    if not any(turn.role == "customer" for turn in turns):
        raise CallRefused("the customer says nothing in this call", kind="call-speakers")
    return turns
