"""Is a pattern safe to run on any message? A bounded test, run before a rule is accepted.

Python's `re` backtracks: a pattern such as `(a|aa)*$` or `(\\w+\\s?)*x` can take seconds,
or years, on a long text that almost matches. Two checks refuse such patterns:

* statically, a repeat of a group that itself repeats (`regexplan.nested_quantifier`);
* by trying: the pattern searches texts built from its own material (each of its characters
  repeated, each of its fixed words repeated with and without spaces, all of them in turn,
  one of its words or of the rule's examples followed by a long run of one character),
  growing from 8 to 5,000 characters (2,048 for a run) and ending in a character that makes
  the match fail. A search slower than `BUDGET_SECONDS` plus `BUDGET_PER_CHAR` for each
  character refuses the pattern (10 ms on 8 characters, 110 ms on 5,000: a linear scan takes
  well under a millisecond, a quadratic one seconds). Lengths grow in steps of 4 while short,
  so an exponential pattern is caught after a fraction of a second, not after it has hung.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence

from warmline.understanding.lexicon.regexplan import alphabet

BUDGET_SECONDS = 0.01
BUDGET_PER_CHAR = 0.00002
# Short lengths in small steps (an exponential pattern shows there), then long ones (a
# quadratic one shows at a few thousand characters).
LENGTHS = (*range(8, 65, 4), 256, 2048, 5000)
RUN_LENGTHS = (*range(8, 65, 4), 256, 2048)
_MAX_BASES = 10
_MAX_PREFIXES = 3
_ENDINGS = ("\x00", "!\n", "x")
_RUN_ENDINGS = ("x", "\x00")


def adversarial_makers(
    pattern: re.Pattern[str], samples: Sequence[str] = ()
) -> list[tuple[str, Callable[[int], str], tuple[int, ...], tuple[str, ...]]]:
    """How the texts a pattern is tried on are made, each from a length: one of its
    characters or words repeated ("aaaa", "again again "), or one of its words or `samples`
    (texts it matches: a rule's examples) followed by a long run of one character ("agent"
    and 5,000 spaces)."""
    chars, words = alphabet(pattern.pattern, pattern.flags)
    bases: list[str] = [ch for ch in chars if ch.strip()]
    bases += [f"{word} " for word in words] + words
    if words:
        bases.append(" ".join(words) + " ")
    bases += [" a", "a ", "1 ", "a!"]
    unique = list(dict.fromkeys(base for base in bases if base))
    if len(unique) > _MAX_BASES:
        step = len(unique) / _MAX_BASES
        unique = [unique[int(i * step)] for i in range(_MAX_BASES)]
    makers: list[tuple[str, Callable[[int], str], tuple[int, ...], tuple[str, ...]]] = [
        (f"{base!r} repeated", _repeated(base), LENGTHS, _ENDINGS) for base in unique
    ]
    runs = list(dict.fromkeys([" ", "!", "a", *chars]))[:_MAX_PREFIXES]
    for start in dict.fromkeys([*samples[:2], *words[:_MAX_PREFIXES]]):
        makers += [
            (f"{start!r} and a run of {ch!r}", _run(start, ch), RUN_LENGTHS, _RUN_ENDINGS)
            for ch in runs
        ]
    return makers


def _repeated(base: str) -> Callable[[int], str]:
    return lambda length: (base * (length // len(base) + 1))[:length]


def _run(word: str, ch: str) -> Callable[[int], str]:
    return lambda length: word + ch * max(0, length - len(word))


def probe(
    pattern: re.Pattern[str], samples: Sequence[str] = (), budget: float = BUDGET_SECONDS
) -> str | None:
    """Why the pattern is unsafe (the slow text described), or None if every search of the
    adversarial texts kept within `budget` seconds plus `BUDGET_PER_CHAR` a character."""
    for described, make, lengths, endings in adversarial_makers(pattern, samples):
        for ending in endings:
            for length in lengths:
                text = make(length) + ending
                limit = budget + BUDGET_PER_CHAR * length
                spent = _timed(pattern, text)
                if spent > limit:
                    # A busy machine can pause any search: only the fastest of three counts.
                    spent = min(spent, _timed(pattern, text), _timed(pattern, text))
                if spent > limit:
                    return (
                        f"backtracks catastrophically: one search took {spent * 1000:.0f} ms on "
                        f"{length} characters ({described}; limit {limit * 1000:.0f} ms); avoid "
                        "a repeat inside a repeat, or next to one that matches the same "
                        "characters, and alternatives that match the same text"
                    )
    return None


def _timed(pattern: re.Pattern[str], text: str) -> float:
    started = time.perf_counter()
    pattern.search(text)
    return time.perf_counter() - started
