"""Does the customer ask for a person? The escape hatch must never be missed, and a negated
request ("I don't need a human, just tell me my balance") must not trigger it.

The phrases and the negation words are rules of `understanding/lexicon/escape_hatch.yaml`
(docs/lexicon.md); requests sit at the start or the end of long messages, and only those ends
are read, which bounds the time.
"""

from __future__ import annotations

from warmline.understanding.lexicon import active, preceded
from warmline.understanding.lexicon.rules import escape_sample


def detect_human_request(text: str) -> str | None:
    """The phrase asking for a person, or None if there is none or it is negated."""
    pack = active()
    sample = escape_sample(text)
    negation = pack.cues["escape_hatch.negation"]
    for rule in pack.rules.get("escape_hatch", ()):
        assert rule.pattern is not None
        for match in rule.pattern.finditer(sample):
            if not preceded(sample, match.start(), negation):
                return match.group(0).strip()
    return None
