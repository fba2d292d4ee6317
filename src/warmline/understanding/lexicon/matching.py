"""Running many rules over one text quickly, with exactly the matches `finditer` would give.

A rule runs only where its plan (`regexplan.plan`) says a match can start: the text is cut into
words once, the words (and pairs of words) are looked up among the rules' start words, and the
rule's pattern is tried with `match` at those positions, left to right, skipping positions
inside the previous match, which is what `finditer` does. A rule without a plan, or one whose
other branches' fixed strings appear in the text, scans the whole text as before.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import accumulate, pairwise

from warmline.understanding.lexicon.regexplan import FOLD, SPACES, Plan, plan

_WORDS = re.compile(r"(\w+)")
_FOLDED = "\u0130\u0131\u017f\u212a"  # the characters `FOLD` maps


class Index:
    """Patterns indexed by where their matches can start."""

    def __init__(
        self, patterns: Sequence[re.Pattern[str]], plans: Sequence[Plan] | None = None
    ) -> None:
        self.patterns = tuple(patterns)
        self.plans: tuple[Plan, ...] = (
            tuple(plans) if plans is not None else tuple(plan(p.pattern, p.flags) for p in patterns)
        )
        words: dict[str, list[int]] = {}
        prefixes: dict[str, list[int]] = {}
        pairs: dict[tuple[str, str, str], list[int]] = {}
        digit: list[int] = []
        start: list[int] = []
        chars: list[tuple[int, re.Pattern[str], str, tuple[str, ...], bool]] = []
        anchored: list[tuple[int, re.Pattern[str] | None, re.Pattern[str] | None, bool]] = []
        scan: list[int] = []
        for number, rule_plan in enumerate(self.plans):
            if rule_plan.scan:
                scan.append(number)
                continue
            for word in rule_plan.words:
                words.setdefault(word, []).append(number)
            for prefix in rule_plan.prefixes:
                prefixes.setdefault(prefix, []).append(number)
            for pair in rule_plan.pairs:
                pairs.setdefault(pair, []).append(number)
            for first, _, _ in rule_plan.pair_prefixes:
                # Few: looked up by their first word alone.
                words.setdefault(first, []).append(number)
            if rule_plan.digit:
                digit.append(number)
            if rule_plan.start:
                start.append(number)
            if rule_plan.chars:
                chars.append(
                    (
                        number,
                        re.compile("[" + "".join(re.escape(c) for c in rule_plan.chars) + "]"),
                        "".join(sorted(rule_plan.chars)),
                        tuple(rule_plan.char_gates),
                        all(not c.isascii() for c in rule_plan.chars),
                    )
                )
            if rule_plan.anchors or rule_plan.exact_anchors:
                anchored.append(
                    (
                        number,
                        _any_of(rule_plan.anchors),
                        _any_of(rule_plan.exact_anchors),
                        all(not a.isascii() for a in rule_plan.anchors | rule_plan.exact_anchors),
                    )
                )
        self._words = {key: tuple(dict.fromkeys(numbers)) for key, numbers in words.items()}
        self._prefixes = tuple(
            (prefix, re.compile(re.escape(prefix)), tuple(numbers))
            for prefix, numbers in prefixes.items()
        )
        self._pairs = {key: tuple(numbers) for key, numbers in pairs.items()}
        self._bigrams = frozenset((first, second) for first, _, second in pairs)
        self._digit = tuple(digit)
        self._start = tuple(start)
        self._chars = tuple(chars)
        self._anchored = tuple(anchored)
        self._scan = tuple(scan)

    @property
    def scanned(self) -> tuple[int, ...]:
        """The patterns that always scan the whole text (no plan)."""
        return self._scan

    def scan(self, text: str) -> Scan:
        """The matches of every pattern in `text`, computed as they are asked for."""
        return Scan(self, text)


def _find_all(text: str, ch: str) -> list[int]:
    found: list[int] = []
    at = text.find(ch)
    while at >= 0:
        found.append(at)
        at = text.find(ch, at + 1)
    return found


def _any_of(strings: frozenset[str]) -> re.Pattern[str] | None:
    if not strings:
        return None
    return re.compile("|".join(re.escape(s) for s in sorted(strings, key=len, reverse=True)))


class Scan:
    """One text against an `Index`: `matches(n)` is `list(patterns[n].finditer(text))`."""

    def __init__(self, index: Index, text: str) -> None:
        self.index = index
        self.text = text
        self._done: dict[int, list[re.Match[str]]] = {}
        self._starts: dict[int, list[int]] = {}
        # More starts than this and one scan of the text is cheaper than trying each.
        self._many = len(text) // 25 + 8
        # Lower case with the few case-insensitive equivalences `lower` misses; the same
        # length as `text`, so positions carry over.
        ascii_text = text.isascii()
        folded = text.lower()
        if not ascii_text and any(ch in text for ch in _FOLDED):
            folded = text.translate(FOLD).lower()
        if len(folded) != len(text):  # pragma: no cover - no such character is known
            self._whole = set(range(len(index.patterns)))
            return
        self._whole = set(index._scan)
        for number, anchors, exact, only_non_ascii in index._anchored:
            if ascii_text and only_non_ascii:
                continue
            if (anchors is not None and anchors.search(folded)) or (
                exact is not None and exact.search(text)
            ):
                self._whole.add(number)
        parts = _WORDS.split(folded)
        words = parts[1::2]
        distinct = set(words)
        word_keys = index._words
        hits: dict[str, tuple[int, ...]] = {w: word_keys[w] for w in distinct & word_keys.keys()}
        if index._digit:
            for word in distinct:
                if word[0].isdigit():
                    hits[word] = hits.get(word, ()) + index._digit
        candidates: dict[int, list[int]] = {}
        unsorted: set[int] = set()
        pairs_found: list[tuple[int, tuple[str, str]]] = []
        if index._bigrams:
            bigrams = index._bigrams
            pairs_found = [(k, pair) for k, pair in enumerate(pairwise(words)) if pair in bigrams]
        if hits or pairs_found:
            ends = list(accumulate(map(len, parts)))
            found = [(k, hits[w]) for k, w in enumerate(words) if w in hits]
            if pairs_found:
                pairs = index._pairs
                for k, (first, second) in pairs_found:
                    between = parts[2 * k + 2]
                    sep = SPACES if between.isspace() else between
                    numbers = pairs.get((first, sep, second))
                    if numbers:
                        found.append((k, numbers))
                found.sort()
            for position, numbers in found:
                start = ends[2 * position]
                for number in numbers:
                    where = candidates.get(number)
                    if where is None:
                        candidates[number] = [start]
                    elif where[-1] != start:
                        where.append(start)
        for prefix, literal, numbers in index._prefixes:
            # A word that starts with a prefix ("overcharg" of "overcharged"): a plain search
            # for the prefix, kept where a word starts.
            if prefix in folded:
                for match in literal.finditer(folded):
                    at = match.start()
                    if at == 0 or not (folded[at - 1].isalnum() or folded[at - 1] == "_"):
                        for number in numbers:
                            candidates.setdefault(number, []).append(at)
                            unsorted.add(number)
        for number, pattern, chars, gates, only_non_ascii in index._chars:
            if (ascii_text and only_non_ascii) or (gates and not any(g in folded for g in gates)):
                continue
            if only_non_ascii:  # emoji: rare in most texts, found fastest one by one
                if sum(text.count(ch) for ch in chars) > self._many:
                    self._whole.add(number)
                    continue
                positions = [at for ch in chars for at in _find_all(text, ch)]
            else:
                positions = [m.start() for m in pattern.finditer(text)]
            if positions:
                candidates.setdefault(number, []).extend(positions)
                unsorted.add(number)
        for number in index._start:
            candidates.setdefault(number, []).append(0)
            unsorted.add(number)
        for number in unsorted:
            candidates[number] = sorted(set(candidates[number]))
        self._starts = candidates

    def matches(self, number: int) -> list[re.Match[str]]:
        """The non-overlapping matches of pattern `number`, left to right."""
        done = self._done.get(number)
        if done is not None:
            return done
        pattern = self.index.patterns[number]
        found: list[re.Match[str]] = []
        where = self._starts.get(number)
        if number in self._whole or (where and len(where) > self._many):
            # Starts everywhere (2,500 identical emoji, "i i i ..."): one scan is cheaper.
            found = list(pattern.finditer(self.text))
        elif where:
            end = -1
            text = self.text
            for position in where:
                if position < end:
                    continue
                match = pattern.match(text, position)
                if match is not None:
                    found.append(match)
                    end = max(match.end(), position + 1)
        self._done[number] = found
        return found

    def first(self, number: int) -> re.Match[str] | None:
        """The first match of pattern `number` (what `search` returns)."""
        found = self.matches(number)
        return found[0] if found else None
