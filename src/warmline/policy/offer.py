"""The customer's answer to "would you like me to connect you with a person?".

Only the start of the reply counts ("yes please, my order is still missing" accepts;
"no thanks, it's fine" declines); anything else means the customer moved on, which the policy
treats as a polite no. The answers are rules of `understanding/lexicon/offer.yaml`; a policy
adds its own patterns (`offers.accept_patterns`, `offers.decline_patterns`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from warmline.understanding.lexicon import active
from warmline.understanding.lexicon.rules import offer_head

OfferReply = Literal["accept", "decline"]


def classify_offer_reply(
    text: str,
    *,
    accept_patterns: Sequence[str] = (),
    decline_patterns: Sequence[str] = (),
) -> OfferReply | None:
    """`accept`, `decline`, or None when the reply is about something else."""
    head = offer_head(text)
    rules = active().rules.get("offer", ())
    for answer, extra in (("decline", decline_patterns), ("accept", accept_patterns)):
        if any(r.signal == answer and r.pattern and r.pattern.search(head) for r in rules) or any(
            re.search(p, head, re.IGNORECASE) for p in extra
        ):
            return "decline" if answer == "decline" else "accept"
    return None
