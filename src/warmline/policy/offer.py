"""The customer's answer to "would you like me to connect you with a person?".

Only the start of the reply counts ("yes please, my order is still missing" accepts;
"no thanks, it's fine" declines); anything else means the customer moved on, which the policy
treats as a polite no.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

OfferReply = Literal["accept", "decline"]

_ACCEPT = re.compile(
    r"^\W*(?:(?:yes|yeah|yea|yep|yup|ya|sure|ok|okay|definitely|absolutely|of\s+course|"
    r"go\s+ahead|please\s+do|do\s+it|that\s+would\s+(?:be\s+)?(?:great|good|nice|helpful|lovely)|"
    r"i(?:'d|\s+would)\s+like\s+that|connect\s+me|y)\b(?!\s*,?\s*(?:but|not)\b)"
    r"|(?:please|pls)\W*$)",
    re.IGNORECASE,
)
_DECLINE = re.compile(
    r"^\W*(?:no|nope|nah|not\s+(?:now|yet|needed|necessary)|no\s+thanks?|no\s+thank\s+you|"
    r"i'?m\s+(?:fine|good|ok|okay|alright)|it'?s\s+(?:fine|ok|okay)|that'?s\s+(?:fine|ok|okay)|"
    r"(?:don'?t|do\s+not)\s+(?:bother|need|want|worry))\b",
    re.IGNORECASE,
)
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'"})


def classify_offer_reply(
    text: str,
    *,
    accept_patterns: Sequence[str] = (),
    decline_patterns: Sequence[str] = (),
) -> OfferReply | None:
    """`accept`, `decline`, or None when the reply is about something else."""
    head = text.translate(_QUOTES).strip()[:200]
    if _DECLINE.search(head) or any(re.search(p, head, re.IGNORECASE) for p in decline_patterns):
        return "decline"
    if _ACCEPT.search(head) or any(re.search(p, head, re.IGNORECASE) for p in accept_patterns):
        return "accept"
    return None
