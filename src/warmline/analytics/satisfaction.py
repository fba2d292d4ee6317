"""Estimated satisfaction: the CSAT a customer would likely give, from the conversation alone.

Surveys reach a small share of conversations, so every conversation gets an estimate on the
CSAT scale (1.0 to 5.0; higher is more satisfied) from its own course:

- how upset the customer was, as they will remember it: the peak and the end of their
  frustration (Kahneman's peak-end rule), and its mean;
- how it ended: thanks or a confirmation that it worked lift it; a last message that still
  complains or asks again does not;
- friction: the customer repeating themselves or pushing back ("I already told you"),
  replies that could not help ("unfortunately we can't", "I don't understand"), asking for a
  person, repeating themselves after a handoff, long waits between a message and the reply,
  and sheer length.

The weights are set by reasoning, not fitted: no rated conversations were used (the project
is measured on rated dialogues it does not see). `Course` holds what the estimate reads, so
every part of it is visible (`warmline replay` prints the estimate per conversation).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from warmline.domain.conversation import Conversation
from warmline.domain.events import (
    AgentMessage,
    AnalysisRecorded,
    BotReply,
    CustomerMessage,
    HandedOff,
)
from warmline.understanding.types import UPSET

LONG_WAIT_SECONDS = 15 * 60
_CLOSURE = re.compile(
    r"\b(?:thanks?|thank you|thx|ty|cheers|appreciate(?:d)?|that (?:worked|helped|fixed it|"
    r"did it)|works now|working now|sorted|solved|resolved|perfect|great|awesome|excellent|"
    r"brilliant|fantastic|wonderful|lovely|got it|all good|that's all|that is all|"
    r"nothing else)\b",
    re.I,
)
_SARCASM = re.compile(
    r"\b(?:thanks? for nothing|thanks a lot for nothing|great job not|not helpful|"
    r"useless|no thanks|no thank you|great, (?:now|another|just))\b",
    re.I,
)
_FAILURE = re.compile(
    r"\b(?:unfortunately|(?:i|we) (?:can't|cannot|could not|couldn't|am unable|are unable|"
    r"'m unable|'re unable|don't have|do not have)|not able to|unable to|no (?:results|"
    r"availability|matches|record)|(?:i|we) don't (?:understand|know)|could you rephrase|"
    r"didn't (?:understand|catch)|not sure (?:i|what)|there (?:is|are) no|isn't available|"
    r"is not available|not possible|no longer available)\b",
    re.I,
)
_WORD = re.compile(r"[a-z0-9']+")


@dataclass(frozen=True)
class Course:
    """What the estimate reads from a conversation."""

    turns: int = 0
    start: float = 0.0
    peak: float = 0.0
    end: float = 0.0
    mean: float = 0.0
    closure: bool = False
    repeats: int = 0
    pushbacks: int = 0
    failures: int = 0
    asked_for_person: bool = False
    repeated_after_handoff: bool = False
    long_waits: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def course_of(conversation: Conversation, *, bot_replies: bool = True) -> Course:
    """The course of `conversation` from its events. `bot_replies=False` reads only what
    people wrote back (a replay's bot replies are what the bot would have said, not what the
    customer saw)."""
    analyses = [e.analysis for e in conversation.of_type(AnalysisRecorded)]
    customer = conversation.of_type(CustomerMessage)
    levels = [float(a.get("emotion", {}).get("frustration", 0.0)) for a in analyses]
    if not customer or not levels:
        return Course(turns=len(customer))
    kinds = (AgentMessage, BotReply) if bot_replies else (AgentMessage,)
    replies = [e for e in conversation.events if isinstance(e, kinds)]
    last_text = customer[-1].text
    closure = bool(_CLOSURE.search(last_text)) and not _SARCASM.search(last_text)
    return Course(
        turns=len(customer),
        start=levels[0],
        peak=max(levels),
        end=levels[-1],
        mean=sum(levels) / len(levels),
        closure=closure and levels[-1] < UPSET,
        repeats=_repeats([e.text for e in customer]),
        pushbacks=sum(bool(a.get("pushback")) for a in analyses),
        failures=sum(bool(_FAILURE.search(e.text)) for e in replies),
        asked_for_person=any(a.get("human_request") for a in analyses),
        repeated_after_handoff=_repeated_after_handoff(conversation),
        long_waits=_long_waits(conversation),
    )


def estimate(course: Course) -> float:
    """The likely CSAT, 1.0 to 5.0 (3.0 when there is nothing to go by)."""
    if course.turns == 0:
        return 3.0
    remembered = (course.peak + course.end) / 2
    dissatisfaction = (
        0.45 * remembered
        + 0.2 * course.end
        + 0.15 * course.mean
        + 0.06 * min(course.repeats, 3)
        + 0.05 * min(course.pushbacks, 3)
        + 0.05 * min(course.failures, 4)
        + (0.1 if course.asked_for_person else 0.0)
        + (0.1 if course.repeated_after_handoff else 0.0)
        + 0.05 * min(course.long_waits, 3)
        + 0.03 * math.log2(max(course.turns, 1))
        - (0.25 if course.closure else 0.0)
    )
    return round(min(5.0, max(1.0, 4.3 - 4.0 * dissatisfaction)), 2)


def estimated_satisfaction(conversation: Conversation, *, bot_replies: bool = True) -> float:
    """`estimate(course_of(conversation))`."""
    return estimate(course_of(conversation, bot_replies=bot_replies))


def _tokens(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _repeats(texts: list[str]) -> int:
    """Customer messages that mostly say again what an earlier one said."""
    seen: list[set[str]] = []
    count = 0
    for text in texts:
        words = _tokens(text)
        if len(words) >= 3 and any(
            len(words & earlier) / len(words | earlier) >= 0.6 for earlier in seen
        ):
            count += 1
        seen.append(words)
    return count


def _repeated_after_handoff(conversation: Conversation) -> bool:
    """After the handoff, the customer says again what they had told the bot."""
    before: list[set[str]] = []
    handed = False
    for event in conversation.events:
        if isinstance(event, HandedOff):
            handed = True
        elif isinstance(event, CustomerMessage):
            words = _tokens(event.text)
            if (
                handed
                and len(words) >= 4
                and any(len(words & earlier) / len(words) >= 0.6 for earlier in before)
            ):
                return True
            if not handed:
                before.append(words)
    return False


def _long_waits(conversation: Conversation) -> int:
    """Customer messages that waited more than LONG_WAIT_SECONDS for the next reply."""
    waiting_since: datetime | None = None
    count = 0
    for event in conversation.events:
        if isinstance(event, CustomerMessage):
            waiting_since = waiting_since or event.ts
        elif isinstance(event, AgentMessage | BotReply) and waiting_since is not None:
            if (event.ts - waiting_since).total_seconds() > LONG_WAIT_SECONDS:
                count += 1
            waiting_since = None
    return count
