"""The one normalisation and the one negation routine every text rule relies on.

`normalise` makes typographic variants match the plain spelling the rules are written in:
curly quotes and primes become `'` or `"`, the dashes `-`, invisible characters (zero-width
spaces and joiners, soft hyphens, direction marks) go, and NFKC folds compatibility forms
(full-width letters, ligatures, styled "mathematical" letters, "..." for an ellipsis). It only
feeds matching: nothing normalised is stored or sent, and ASCII text is returned as it is.

`preceded` answers "does a cue word come just before this position, in the same clause?" It is
the negation check of emotion signals, the escape hatch and sensitive topics ("not happy",
"I don't need a human", "this is not a scam"), and the wish check of factual rules ("I need
this fixed"): each concern sets its cue words and window in the rule pack.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace

_REPLACEMENTS: dict[str, str] = {
    # The acute accent and modifier letters typed as apostrophes ("don´t").
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u02bc\u00b4\u02b9\u02bb\u02bd", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033", '"'),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58", "-"),
    # Invisible: zero-width space, non-joiner, joiner, direction marks and embeddings,
    # word joiner and invisible operators, isolates, byte-order mark, soft hyphen.
    **dict.fromkeys(
        "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
        "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff\u00ad\u180e",
        "",
    ),
}
# One regular expression finds them: `str.translate` with a table this size costs about a
# millisecond on 10,000 characters of non-ASCII text, the expression a few dozen microseconds.
_REPLACEABLE = re.compile("[" + re.escape("".join(_REPLACEMENTS)) + "]")


def _replace(text: str) -> str:
    return _REPLACEABLE.sub(lambda match: _REPLACEMENTS[match.group()], text)


def normalise(text: str, limit: int | None = None) -> str:
    """`text` (its first `limit` characters) as the rules read it; see the module docstring."""
    if limit is not None:
        text = text[:limit]
    if text.isascii():
        return text
    text = _replace(text)
    if not unicodedata.is_normalized("NFKC", text):
        text = _replace(unicodedata.normalize("NFKC", text))
        if limit is not None:
            text = text[:limit]  # a few compatibility characters expand to several
    return text


_WORD = re.compile(r"[\w']+")
# Walking back from a match, the clause ends at the first character that is not part of a
# word, a space or an apostrophe (a comma, a full stop, a line break, a bracket, a dash, an
# emoji).
_CLAUSE_TAIL = re.compile(r"[\w' \t\r\f\v]*")


@dataclass(frozen=True)
class Cue:
    """Words that change what follows them within a few words: negations ("not", "never",
    any "...n't" when `contractions`) or wishes ("need", "hope", "to get").

    A cue counts when it ends at most `after` words (and, when `gap` is set, at most `gap`
    characters) before the position, within the last `reach` characters and in the same
    clause. A clause ends at a line break and at any character that is not part of a word, a
    space or an apostrophe, or, when `stops` is given, only at those characters. Words compare
    in lower case with apostrophes left out ("don't" is "dont"); an entry of several words must
    appear as written."""

    words: frozenset[str]
    phrases: tuple[tuple[str, ...], ...] = ()
    contractions: bool = False
    after: int = 2
    reach: int = 30
    gap: int | None = None
    stops: str | None = None

    @classmethod
    def of(
        cls,
        entries: Iterable[str],
        *,
        contractions: bool = False,
        after: int = 2,
        reach: int = 30,
        gap: int | None = None,
        stops: str | None = None,
    ) -> Cue:
        """A cue from entries as written in the rule pack (one word or several)."""
        words: set[str] = set()
        phrases: list[tuple[str, ...]] = []
        for entry in entries:
            parts = tuple(_key(part) for part in entry.split())
            if len(parts) == 1:
                words.add(parts[0])
            elif parts:
                phrases.append(parts)
        return cls(frozenset(words), tuple(phrases), contractions, after, reach, gap, stops)

    def with_after(self, after: int) -> Cue:
        """The same cue with another window (a policy's `negation_words`)."""
        return replace(self, after=after)


def _key(word: str) -> str:
    return word.lower().replace("'", "")


def _is_entry(word: str, entries: frozenset[str]) -> bool:
    """`word` (lower case) is an entry, its apostrophes left out ("don't") or after its last
    apostrophe ("should'nt")."""
    return word.replace("'", "") in entries or ("'" in word and word.rsplit("'", 1)[1] in entries)


def preceded(text: str, start: int, cue: Cue) -> bool:
    """True when `cue` comes just before `text[start:]` (see `Cue`)."""
    window = text[max(0, start - cue.reach) : start]
    if cue.stops is None:
        reversed_tail = _CLAUSE_TAIL.match(window[::-1])
        clause = window[len(window) - reversed_tail.end() :] if reversed_tail else ""
    else:
        clause = window[max(window.rfind(stop) for stop in f"{cue.stops}\n") + 1 :]
    if cue.gap is not None:
        # Only the words that end within `gap` characters of the position.
        tail = len(clause) - cue.gap
        words = [m.group() for m in _WORD.finditer(clause.lower()) if m.end() >= tail]
    else:
        words = _WORD.findall(clause.lower())
    if not words:
        return False
    last = len(words) - 1
    for index in range(last, max(-1, last - cue.after - 1), -1):
        word = words[index]
        if (cue.contractions and word.endswith("n't")) or _is_entry(word, cue.words):
            return True
    for phrase in cue.phrases:
        size = len(phrase)
        for end in range(len(words), max(size - 1, len(words) - cue.after - 1), -1):
            if tuple(_key(word) for word in words[end - size : end]) == phrase:
                return True
    return False
