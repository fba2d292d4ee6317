"""How the lexical signals play together, once the rules have matched (`signals.py`).

The words are data (`understanding/lexicon/emotion.yaml`); what this module decides is how
they combine:

* typography: shouting in capitals (not acronyms), runs of `!` and `?`;
* VADER's general valence, read without letter formulas and polite regret;
* sarcasm: a marker always, praise only next to a complaint cue;
* suppressions: sarcasm drops satisfaction, positive valence and (for a marker) gratitude;
  satisfaction drops resignation ("never mind, it works now");
* polite regret and plain answers, which only stand when nothing negative was found.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from warmline.understanding.lexicon import Pack, Rule
from warmline.understanding.lexicon.catalog import SIGNAL_NAMES
from warmline.understanding.lexicon.matching import Scan
from warmline.understanding.lexicon.rules import counted
from warmline.understanding.types import Signal

# VADER is run on at most this many characters (it is slower per character than the rules),
# and this many words, an emoji counting as the words of its name that VADER reads in its
# place: its time grows with the square of the sentiment words, and 4,000 frowning faces took
# two seconds. A message of ordinary words reaches the character limit first.
VADER_MAX_CHARS = 4_000
VADER_MAX_WORDS = 800
_MAX_EVIDENCE = 3
_EVIDENCE_CHARS = 80

_CAPS_WORD = re.compile(r"\b[A-Z][A-Z']{2,}\b")
_LETTER = re.compile(r"[^\W\d_]")
_UPPER = re.compile(r"[A-Z]")
_EXCLAIM_RUN = re.compile(r"!{2,}|(?:![?!]*\?[?!]*!)[?!]*|(?:!\s){2,}")
_QUESTION_RUN = re.compile(r"\?{2,}|\?!+\?*")

# Signals next to which praise reads as sarcasm (a bare problem report is not enough: "thanks
# for the quick reply, the app still has a bug" is sincere).
_SARCASM_CONTEXT = (
    "anger",
    "annoyance",
    "disappointment",
    "waiting_complaint",
    "passed_around",
    "repeated_contact",
    "complaint_question",
    "profanity",
)
# Any of these means a reply says more than a plain answer (VADER's negative valence does not
# count: it reads a bare "no" as negative).
_NOT_PLAIN = frozenset(SIGNAL_NAMES) - {
    "negative_valence",
    "satisfaction",
    "gratitude",
    "positive_valence",
    "plain_answer",
    "polite_regret",
}
_PLAIN_ANSWER_WORDS = 6


def clip(value: float) -> float:
    return 0.0 if value <= 0.0 else 1.0 if value >= 1.0 else value


class Evidence:
    """The first three distinct matches, spacing tidied (case does not make them distinct)."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._lowered: set[str] = set()
        self._tried: set[str] = set()

    @property
    def full(self) -> bool:
        return len(self.seen) == _MAX_EVIDENCE

    def add(self, match: str) -> None:
        if self.full or match in self._tried:  # 2,500 identical emoji are read once
            return
        self._tried.add(match)
        cleaned = " ".join(match.split())[:_EVIDENCE_CHARS]
        if cleaned and cleaned.lower() not in self._lowered:
            self.seen.append(cleaned)
            self._lowered.add(cleaned.lower())

    def __str__(self) -> str:
        return "; ".join(self.seen)


def evidence(matches: Sequence[str]) -> str:
    """Up to three distinct matches, their spacing tidied, as one string."""
    picked = Evidence()
    for match in matches:
        picked.add(match)
        if picked.full:
            break
    return str(picked)


def combine(text: str, pack: Pack, scan: Scan, found: dict[str, Signal]) -> tuple[Signal, ...]:
    """The signals of the rules (`found`, by name) with typography, valence and sarcasm added
    and the suppressions applied, in `SIGNAL_NAMES` order."""
    for signal_or_none in (
        capitals(text, pack.lists.get("emotion.acronyms", frozenset()), pack),
        runs("exclamations", _EXCLAIM_RUN, text),
        runs("question_marks", _QUESTION_RUN, text),
    ):
        if signal_or_none is not None:
            found[signal_or_none.name] = signal_or_none
    # VADER scores "unfortunately" itself as negative: polite regret is read without it.
    regret = polite_regret(pack, scan, found)
    valence_text = text
    if regret is not None:
        for rule in pack.emotion("polite_regret"):
            assert rule.pattern is not None
            valence_text = rule.pattern.sub(" ", valence_text)
    compound = vader_compound(valence_text, pack)
    for signal in valence_signals(valence_text, compound):
        found[signal.name] = signal
    negative_cue = any(name in found for name in _SARCASM_CONTEXT) or (
        "problem" in found and (compound <= -0.25 or _praises_the_service(text, pack))
    )
    sarcasm = _sarcasm(text, pack, scan, negative_cue)
    if sarcasm is not None:
        found["sarcasm"] = sarcasm
        # Praise inside a sarcastic message is not satisfaction, and "thanks for nothing" is not
        # gratitude.
        found.pop("satisfaction", None)
        found.pop("positive_valence", None)
        if sarcasm.strength >= 0.85:
            found.pop("gratitude", None)
    if "satisfaction" in found:
        found.pop("resignation", None)  # "never mind, it works now": helped, not giving up
    if regret is not None and "sarcasm" not in found:
        found[regret.name] = regret
    answer = plain_answer(text, pack, found)
    if answer is not None:
        found[answer.name] = answer
    return tuple(found[name] for name in SIGNAL_NAMES if name in found)


# -- typography --------------------------------------------------------------------------------


def capitals(text: str, acronyms: frozenset[str], pack: Pack) -> Signal | None:
    """Shouting: several all-capital words that are not acronyms, or a mostly upper-case text."""
    shouted = [word for word in _CAPS_WORD.findall(text) if word.strip("'") not in acronyms]
    if not shouted:
        return None
    letters = len(_LETTER.findall(text))
    upper_ratio = len(_UPPER.findall(text)) / letters if letters else 0.0
    if letters >= 12 and upper_ratio >= 0.7 and len(shouted) >= 2:
        return Signal("capitals", evidence([" ".join(shouted[:6])]), 1.0)
    emphasis = pack.lists.get("emotion.shouted_words", frozenset())
    long_shouted = [word for word in shouted if len(word) >= 4]
    if (
        (len(shouted) >= 2 and long_shouted)
        or any(len(word) >= 5 for word in long_shouted)
        or any(word in emphasis for word in shouted)
    ):
        strength = clip(0.35 * len(shouted))
        return Signal("capitals", evidence(shouted), round(max(strength, 0.4), 4))
    return None


def runs(name: str, pattern: re.Pattern[str], text: str) -> Signal | None:
    found = pattern.findall(text)
    if not found:
        return None
    longest = max(len(run.replace(" ", "")) for run in found)
    strength = clip(0.3 + 0.2 * (longest - 2) + 0.15 * (len(found) - 1))
    return Signal(name, evidence(found), round(strength, 4))


# -- sarcasm, regret and plain answers ---------------------------------------------------------


def _first(pack: Pack, scan: Scan, use: str) -> tuple[Rule, re.Match[str]] | None:
    """The earliest match of the rules of one use (ties: the rule written first)."""
    best: tuple[Rule, re.Match[str]] | None = None
    for number in pack.by_use.get(use, ()):
        match = scan.first(number)
        if match is not None and (best is None or match.start() < best[1].start()):
            best = (pack.rules["emotion"][number], match)
    return best


def _counted(pack: Pack, scan: Scan, use: str, text: str) -> list[tuple[Rule, str]]:
    found: list[tuple[Rule, str]] = []
    for number in pack.by_use.get(use, ()):
        rule = pack.rules["emotion"][number]
        found += [
            (rule, m.group(0)) for m in scan.matches(number) if counted(rule, text, m, pack.cues)
        ]
    return found


def _praises_the_service(text: str, pack: Pack) -> bool:
    return any(
        rule.pattern is not None and rule.pattern.search(text) is not None
        for rule in pack.emotion("service_praise")
    )


def _sarcasm(text: str, pack: Pack, scan: Scan, negative_cue: bool) -> Signal | None:
    marker = _first(pack, scan, "sarcasm_marker")
    if marker is not None:
        rule, match = marker
        return Signal("sarcasm", evidence([match.group(0)]), rule.strength)
    if not negative_cue:
        return None
    praise = _counted(pack, scan, "sarcastic_praise", text)
    if praise:
        strength = max(rule.strength for rule, _ in praise)
        return Signal("sarcasm", evidence([words for _, words in praise]), strength)
    return None


def polite_regret(pack: Pack, scan: Scan, found: Mapping[str, Signal]) -> Signal | None:
    """Regret as politeness ("..., unfortunately"), when nothing negative was found."""
    if _NOT_PLAIN & found.keys():
        return None
    first = _first(pack, scan, "polite_regret")
    if first is None:
        return None
    rule, match = first
    return Signal(name="polite_regret", evidence=match.group(0), strength=rule.strength)


def plain_answer(text: str, pack: Pack, found: Mapping[str, Signal]) -> Signal | None:
    """A short reply that starts by answering ("No they aren't"), and says nothing more."""
    if len(text.split()) > _PLAIN_ANSWER_WORDS or _NOT_PLAIN & found.keys():
        return None
    for rule in pack.emotion("not_plain"):
        if rule.pattern is not None and rule.pattern.search(text):
            return None
    for rule in pack.emotion("answer_start"):
        match = rule.pattern.match(text) if rule.pattern is not None else None
        if match is not None:
            return Signal(
                name="plain_answer", evidence=match.group(0).strip(), strength=rule.strength
            )
    return None


# -- VADER -------------------------------------------------------------------------------------

_vader: Any = None
_vader_lock = threading.Lock()


def _analyzer() -> Any:
    """The VADER analyser, loaded once (its lexicon load takes ~50 ms)."""
    global _vader
    if _vader is None:
        with _vader_lock:
            if _vader is None:
                from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

                _vader = SentimentIntensityAnalyzer()
    return _vader


def vader_compound(text: str, pack: Pack) -> float:
    """VADER's compound score in -1..1 for the first `VADER_MAX_CHARS` characters, letter
    formulas (salutations, sign-offs) left out."""
    text = text[:VADER_MAX_CHARS]
    for rule in pack.emotion("letter_formula"):
        assert rule.pattern is not None
        text = rule.pattern.sub(" ", text)
    return plain_vader_compound(text)


def plain_vader_compound(text: str) -> float:
    """VADER's compound score of the text as it is: the published baseline benchmarks compare
    warmline with."""
    text = _vader_window(text[:VADER_MAX_CHARS])
    if not text.strip():
        return 0.0
    return float(_analyzer().polarity_scores(text)["compound"])


_emoji_units: tuple[re.Pattern[str], dict[str, int]] | None = None


def _vader_window(text: str) -> str:
    """The start of `text` that holds at most `VADER_MAX_WORDS` words as VADER reads them."""
    words = len(text.split())
    if text.isascii() and words <= VADER_MAX_WORDS:
        return text
    units, sizes = _emoji_sizes()
    if not text.isascii():
        words += sum(sizes.get(unit, 0) for unit in units.findall(text))
    if words <= VADER_MAX_WORDS:
        return text
    count = 0
    for unit in units.finditer(text):
        count += sizes.get(unit.group(), 1)
        if count > VADER_MAX_WORDS:
            return text[: unit.start()]
    return text


def _emoji_sizes() -> tuple[re.Pattern[str], dict[str, int]]:
    """A pattern that cuts a text into VADER's words and emoji (each emoji a unit of its own),
    and how many words each emoji's name adds."""
    global _emoji_units
    if _emoji_units is None:
        names: dict[str, str] = _analyzer().emojis
        sizes = {ch: len(name.split()) for ch, name in names.items() if len(ch) == 1}
        emoji = "".join(re.escape(ch) for ch in sizes)
        _emoji_units = (re.compile(f"[{emoji}]|[^\\s{emoji}]+"), sizes)
    return _emoji_units


def _valence_words(text: str, negative: bool) -> list[str]:
    lexicon: dict[str, float] = _analyzer().lexicon
    words = re.findall(r"[\w']+", text[:VADER_MAX_CHARS].lower())
    picked = [
        word for word in words if (lexicon.get(word, 0.0) < 0) == negative and word in lexicon
    ]
    picked.sort(key=lambda word: lexicon[word], reverse=not negative)
    return picked


def _valence_evidence(words: list[str], compound: float) -> str:
    listed = ", ".join(list(dict.fromkeys(words))[:3])
    return f"{listed} (VADER {compound:.2f})" if listed else f"VADER {compound:.2f}"


def valence_signals(text: str, compound: float) -> list[Signal]:
    """Negative valence at compound <= -0.25, positive at >= 0.5, with VADER's words."""
    if compound <= -0.25:
        words = _valence_words(text, negative=True)
        return [Signal("negative_valence", _valence_evidence(words, compound), round(-compound, 4))]
    if compound >= 0.5:
        words = _valence_words(text, negative=False)
        return [Signal("positive_valence", _valence_evidence(words, compound), round(compound, 4))]
    return []
