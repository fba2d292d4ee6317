"""Lexical emotion signals: what in the text shows how the customer feels, with the evidence.

Why rules next to a learned model: the model is trained on Reddit comments (GoEmotions), where
customer-service complaints are rare. The things that make a customer upset in a support
conversation (waiting, being passed around, asking again, a double charge, a threat to leave)
are said in a small number of recognisable ways, and a rule that fires on them can show the
agent exactly which words it read. Each signal appears at most once, with a `strength` (0..1)
that is a noisy-or of its rules' matches and `evidence` quoting up to three of them.

The rules are data, validated when loaded: `understanding/lexicon/emotion.yaml` (docs/lexicon.md),
changed by a business's own file (`WARMLINE_LEXICON_FILE`). How the signals combine (capitals,
runs of `!`, VADER's valence, sarcasm, the suppressions) is `interplay.py`.

VADER (vaderSentiment) supplies general negative and positive valence; it is one input among
many because it scores most polite complaints ("I've been waiting 3 weeks for my refund") as
neutral.
"""

from __future__ import annotations

from warmline.understanding.emotion import interplay
from warmline.understanding.emotion.interplay import VADER_MAX_CHARS, plain_vader_compound
from warmline.understanding.lexicon import Pack, active, counted
from warmline.understanding.lexicon import normalise as normalise_text
from warmline.understanding.lexicon.catalog import SIGNAL_NAMES
from warmline.understanding.lexicon.matching import Scan
from warmline.understanding.lexicon.rules import MAX_CHARS
from warmline.understanding.types import Signal

__all__ = [
    "MAX_CHARS",
    "SIGNAL_NAMES",
    "VADER_MAX_CHARS",
    "detect_signals",
    "match_rules",
    "normalise",
    "plain_vader_compound",
    "vader_compound",
]


def normalise(text: str) -> str:
    """The first `MAX_CHARS` characters as the rules read them: quotes, dashes and invisible
    characters normalised, so "don’t" matches like "don't" (`lexicon.text.normalise`)."""
    return normalise_text(text, MAX_CHARS)


def vader_compound(text: str) -> float:
    """VADER's compound score in -1..1 for the first `VADER_MAX_CHARS` characters, letter
    formulas (salutations, sign-offs) left out."""
    return interplay.vader_compound(text, active())


def detect_signals(text: str) -> tuple[Signal, ...]:
    """Every lexical signal in one message, at most one per name, in `SIGNAL_NAMES` order."""
    if not isinstance(text, str):
        return ()
    text = normalise(text)
    if not text.strip():
        return ()
    pack = active()
    scan = pack.emotion_index.scan(text)
    return interplay.combine(text, pack, scan, match_rules(text, pack, scan))


def match_rules(text: str, pack: Pack | None = None, scan: Scan | None = None) -> dict[str, Signal]:
    """The signals of the `signal` rules alone, by name, in normalised `text`: each a noisy-or
    of its counted matches with up to three of them as evidence (no typography, VADER or
    interplay)."""
    pack = pack or active()
    scan = scan or pack.emotion_index.scan(text)
    rules = pack.rules["emotion"]
    possible = scan.possible
    found: dict[str, Signal] = {}
    for name, numbers in pack.by_signal.items():
        remaining = 1.0  # the noisy-or, multiplied in the order of the matches
        evidence = interplay.Evidence()
        matched = False
        for number in numbers:
            if number not in possible:
                continue
            rule = rules[number]
            keep = 1.0 - interplay.clip(rule.strength)
            check = rule.negatable or rule.factual
            for match in scan.matches(number):
                if check and not counted(rule, text, match, pack.cues):
                    continue
                matched = True
                remaining *= keep
                if not evidence.full:
                    evidence.add(match.group(0))
        if matched:
            found[name] = Signal(
                name=name, evidence=str(evidence), strength=round(1.0 - remaining, 4)
            )
    return found
