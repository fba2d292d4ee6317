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
from itertools import accumulate, chain, compress, islice

from warmline.understanding.lexicon.regexplan import FOLD, Plan, plan, separator_key

_WORDS = re.compile(r"(\w+)")
_FOLDED = "\u0130\u0131\u017f\u212a"  # the characters `FOLD` maps
# In the distinct words joined by spaces: the words that start with an ASCII digit.
_ASCII_DIGIT_WORDS = re.compile(r" ([0-9]\S*)")


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
        chars: list[tuple[int, re.Pattern[str], str, tuple[str, ...], bool, bool]] = []
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
                        _char_finder(rule_plan),
                        "".join(sorted(rule_plan.chars)),
                        tuple(rule_plan.char_gates),
                        all(not c.isascii() for c in rule_plan.chars),
                        bool(rule_plan.char_filter),
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
        self._prefixes = tuple((prefix, tuple(numbers)) for prefix, numbers in prefixes.items())
        self._prefix_heads = tuple(prefixes)
        self._digit = tuple(digit)
        self._prefixed = _prefixed_words(self._prefix_heads)
        # (first word, second word) -> separator -> rules: looked up for every pair of words.
        self._pairs: dict[tuple[str, str], dict[str, tuple[int, ...]]] = {}
        for (first, sep, second), numbers in pairs.items():
            self._pairs.setdefault((first, second), {})[sep] = tuple(numbers)
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


def _char_finder(rule_plan: Plan) -> re.Pattern[str]:
    """Finds where a rule may start at a character: at the characters followed by how the
    next word starts (`Plan.char_filter`), else at every one of them."""
    if rule_plan.char_filter:
        return re.compile(rule_plan.char_filter)
    return re.compile("[" + "".join(re.escape(c) for c in rule_plan.chars) + "]")


def _last(folded: str, gates: tuple[str, ...]) -> int:
    """Where a branch gated by `gates` can start at the latest: the gate is part of its match."""
    return max(folded.rfind(gate) for gate in gates) + 1 if gates else len(folded)


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


def _prefixed_words(prefixes: tuple[str, ...]) -> re.Pattern[str] | None:
    """Finds, in the distinct words joined by spaces, those that start with one of `prefixes`:
    one search instead of a test of every word for every prefix."""
    if not prefixes:
        return None
    heads = "|".join(re.escape(prefix) for prefix in sorted(prefixes, key=len, reverse=True))
    return re.compile(f" ((?:{heads})\\S*)")


class Scan:
    """One text against an `Index`: `matches(n)` is `list(patterns[n].finditer(text))`."""

    def __init__(self, index: Index, text: str) -> None:
        self.index = index
        self.text = text
        self._done: dict[int, list[re.Match[str]]] = {}
        self._starts: dict[int, list[int]] = {}
        self._pieces: dict[int, list[list[int]]] = {}
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
            self.possible = frozenset(self._whole)
            return
        self._whole = set(index._scan)
        for number, anchors, exact, only_non_ascii in index._anchored:
            if ascii_text and only_non_ascii:
                continue
            if (anchors is not None and anchors.search(folded)) or (
                exact is not None and exact.search(text)
            ):
                self._whole.add(number)
        lists: dict[int, list[list[int]]] = {}
        self._index_words(_WORDS.split(folded), ascii_text, lists)
        unsorted = self._index_chars(folded, ascii_text, lists)
        for number in index._start:
            lists.setdefault(number, []).append([0])
            unsorted.add(number)
        # One ascending list per rule, or several to merge when the rule is tried.
        for number, found in lists.items():
            if len(found) == 1 and number not in unsorted:
                self._starts[number] = found[0]
            else:
                self._pieces[number] = found
        # The patterns that may match: the others' `matches` are empty.
        self.possible = frozenset(self._starts.keys() | self._pieces.keys() | self._whole)

    def _index_chars(
        self, folded: str, ascii_text: bool, lists: dict[int, list[list[int]]]
    ) -> set[int]:
        """Where the rules that start at a character ("!", an emoji) can start, added to
        `lists`; returns the rules whose positions are not in ascending order."""
        text = self.text
        unsorted: set[int] = set()
        for number, pattern, chars, gates, only_non_ascii, filtered in self.index._chars:
            if gates and not any(g in folded for g in gates):
                continue
            if only_non_ascii:  # emoji: rare in most texts, found fastest one by one
                present = [] if ascii_text else [ch for ch in chars if ch in text]
                if not present:
                    continue
                counts = [text.count(ch) for ch in present]
                if sum(counts) > self._many:
                    self._whole.add(number)
                    continue
                positions = [
                    at for ch, n in zip(present, counts, strict=True) for at in _find_all(text, ch)
                ]
            elif filtered:  # the characters and the next word, in the lower-cased text
                positions = [m.start() for m in pattern.finditer(folded)]
            else:
                positions = [m.start() for m in pattern.finditer(text, 0, _last(folded, gates))]
            if positions:
                lists.setdefault(number, []).append(positions)
                unsorted.add(number)
        return unsorted

    def _special_rules(self, words: list[str], ascii_text: bool) -> dict[str, tuple[int, ...]]:
        """The rules that start at words of this text that begin with a rule's prefix
        ("overcharg" of "overcharged") or with a digit (of any script), by word."""
        index = self.index
        if index._prefixed is None and not index._digit:
            return {}
        distinct = set(words)
        joined = " " + " ".join(distinct)
        found: dict[str, tuple[int, ...]] = {}
        if index._digit:
            numbered = _ASCII_DIGIT_WORDS.findall(joined)
            if not ascii_text:  # another script's digits
                numbered += [w for w in filter("\x80".__le__, distinct) if w[0].isdigit()]
            found = dict.fromkeys(numbered, index._digit)
        if index._prefixed is not None:
            for word in index._prefixed.findall(joined):
                rules = [numbers for prefix, numbers in index._prefixes if word.startswith(prefix)]
                found[word] = found.get(word, ()) + tuple(chain.from_iterable(rules))
        return found

    def _index_words(
        self, parts: list[str], ascii_text: bool, lists: dict[int, list[list[int]]]
    ) -> None:
        """Where the rules' start words and pairs of words are (`parts`: the text cut into
        words and what lies between them), added to `lists` (rule number -> lists of
        ascending positions). The lookups run in C (`map`, `compress`); Python loops only
        over the words found."""
        index = self.index
        words = parts[1::2]
        lookup = index._words
        special = self._special_rules(words, ascii_text)
        if special:
            lookup = dict(lookup)
            for word, extra in special.items():
                lookup[word] = tuple(dict.fromkeys(lookup.get(word, ()) + extra))
        word_hits = list(map(lookup.get, words))
        pair_hits: list[dict[str, tuple[int, ...]] | None] = []
        if index._pairs and len(words) > 1:
            # `zip` reuses its tuple where `pairwise` makes one per pair.
            pair_hits = list(
                map(index._pairs.get, zip(words, islice(words, 1, None), strict=False))
            )
        if not any(word_hits) and not any(pair_hits):
            return
        # Where each word starts: the length of everything before it.
        starts = list(accumulate(map(len, parts)))[::2]
        grouped: dict[tuple[int, ...], list[int]] = {}
        for numbers, at in zip(filter(None, word_hits), compress(starts, word_hits), strict=True):
            where = grouped.get(numbers)
            if where is None:
                grouped[numbers] = [at]
            else:
                where.append(at)
        by_pairs: dict[tuple[int, ...], list[int]] = {}
        found_pairs = zip(
            filter(None, pair_hits),
            compress(parts[2::2], pair_hits),  # what lies between the two words
            compress(starts, pair_hits),
            strict=True,
        )
        for seps, between, at in found_pairs:
            rules = seps.get(separator_key(between))
            if rules:
                by_pairs.setdefault(rules, []).append(at)
        for positions_of in (grouped, by_pairs):
            for numbers, positions in positions_of.items():
                for number in numbers:
                    lists.setdefault(number, []).append(positions)

    def matches(self, number: int) -> list[re.Match[str]]:
        """The non-overlapping matches of pattern `number`, left to right."""
        done = self._done.get(number)
        if done is not None:
            return done
        where = self._starts.get(number)
        if where is None and number in self._pieces:
            # Ascending; a position found twice is tried twice only when it does not match.
            where = sorted(chain.from_iterable(self._pieces[number]))
        pattern = self.index.patterns[number]
        found: list[re.Match[str]] = []
        if number in self._whole or (where is not None and len(where) > self._many):
            # Starts everywhere (2,500 identical emoji, "i i i ..."): one scan is cheaper.
            found = list(pattern.finditer(self.text))
        elif where:
            match_at = pattern.match
            text = self.text
            end = -1
            for position in where:
                if position >= end:
                    match = match_at(text, position)
                    if match is not None:
                        found.append(match)
                        end = max(match.end(), position + 1)
        self._done[number] = found
        return found

    def first(self, number: int) -> re.Match[str] | None:
        """The first match of pattern `number` (what `search` returns)."""
        found = self.matches(number)
        return found[0] if found else None
