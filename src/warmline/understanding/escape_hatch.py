"""Does the customer ask for a person? The escape hatch must never be missed, and a negated
request ("I don't need a human, just tell me my balance") must not trigger it."""

from __future__ import annotations

import re

_PERSON = (
    r"(?:a\s+|an\s+|the\s+|some\s+|your\s+)?(?:real\s+|live\s+|actual\s+)?"
    r"(?:human(?:\s+being)?|person|people|agent|representative|rep|operator|someone|somebody|"
    r"supervisor|manager|advisor|adviser|staff|employee|customer\s+service(?:\s+rep)?|"
    r"support\s+team|team\s+member|live\s+(?:chat|support))"
)
_ASK = (
    r"(?:talk|speak|chat|connect|transfer|put|get|give|want|need|let|escalate|reach|send|pass|"
    r"forward|call|request|ask\s+for|looking\s+for|put\s+through)"
)
_REQUEST_PATTERNS = [
    re.compile(rf"\b{_ASK}\b[\w\s'’]{{0,30}}?\b{_PERSON}\b", re.IGNORECASE),
    re.compile(rf"^\W*(?:{_PERSON})\W*(?:please|pls|now|asap)?\W*$", re.IGNORECASE),
    re.compile(
        r"\b(?:is\s+there|are\s+you)\s+(?:a\s+)?(?:real\s+)?(?:human|person|anyone)\b", re.I
    ),
    re.compile(r"\bhuman\s+(?:help|support|assistance|being)\b", re.IGNORECASE),
    re.compile(r"\b(?:stop|enough)\b[\w\s,]{0,20}\b(?:bot|robot|machine|automated)\b", re.I),
]
_NEGATION = re.compile(
    r"\b(?:don'?t|do\s+not|doesn'?t|no\s+need|not|never|without|no)\b[\w\s'’]{0,25}$",
    re.IGNORECASE,
)
_EDGE_CHARS = 2000


def detect_human_request(text: str) -> str | None:
    """The phrase asking for a person, or None if there is none or it is negated."""
    # Requests sit at the start or the end of long messages; scanning both edges bounds time.
    sample = (
        text if len(text) <= 2 * _EDGE_CHARS else f"{text[:_EDGE_CHARS]}\n{text[-_EDGE_CHARS:]}"
    )
    for pattern in _REQUEST_PATTERNS:
        for match in pattern.finditer(sample):
            if not _negated(sample, match.start()):
                return match.group(0).strip()
    return None


def _negated(text: str, start: int) -> bool:
    """True when the words just before the request negate it within the same clause."""
    clause_start = max(text.rfind(mark, 0, start) for mark in ".!?;,\n") + 1
    return bool(_NEGATION.search(text[clause_start:start]))
