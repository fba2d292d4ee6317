"""What a rule's regular expression can tell before it runs, read from its parse tree.

* `plan`: where a match can start, so a long message is not scanned once per rule. Most rules
  start with `\\b` and a word ("\\bhow\\s+dare..."): a match can then only start at a word that
  is (or begins with) one of a few strings, and the matcher tries the rule only there. A branch
  that starts otherwise needs one of its fixed strings to appear in the text ("disregard" in
  "(?:^|[.!?]\\s*)disregard"); when none does, that branch cannot match anywhere.
* `nested_quantifier`: a repeat of a group that itself repeats (`(a+)+`, `(\\w+\\s*)*`), the
  shape of patterns that backtrack catastrophically.
* `alphabet`: the characters and words a pattern is made of, from which the safety probe
  builds its adversarial texts.

The parse tree comes from `re._parser` (CPython's own); a tree this module does not
understand gives the safe answer (scan the whole text, no static objection).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

_parser: Any = importlib.import_module("re._parser")
_c: Any = importlib.import_module("re._constants")

_MAX_KEYS = 3000
# Characters that Python's case-insensitive matching equates with an ASCII letter although
# `str.lower()` does not make them one.
FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


@dataclass(frozen=True)
class Plan:
    """Where a rule's matches can start. A match starts at a word equal to one of `words`,
    at a word starting with one of `prefixes`, at the
    first of two words that `pairs` (first word, `separator_key`, second word) or `pair_prefixes`
    (the second word starting so) name, at a word starting with a digit
    (`digit`), at the very start (`start`), or at one of `chars` (a branch such as
    "[,.;!?]\\s*forget", which can only match when the text holds one of its `char_gates`,
    lower-case, if there are any), unless the text holds one of `anchors` (lower-case, found
    in the text lower-cased) or `exact_anchors` (as written): then the rule scans the whole
    text. `scan` rules always do. `char_filter`, when set, is a regular expression that every
    match starting at one of `chars` matches there in the lower-cased text: the character, any
    spaces, then how the next word starts ("[,.;!?]\\s*(?:just|forget)")."""

    words: frozenset[str] = frozenset()
    prefixes: frozenset[str] = frozenset()
    pairs: frozenset[tuple[str, str, str]] = frozenset()
    pair_prefixes: frozenset[tuple[str, str, str]] = frozenset()
    digit: bool = False
    start: bool = False
    chars: frozenset[str] = frozenset()
    char_gates: frozenset[str] = frozenset()
    anchors: frozenset[str] = frozenset()
    exact_anchors: frozenset[str] = frozenset()
    scan: bool = False
    char_filter: str = ""


SCAN = Plan(scan=True)


class _Unplannable(Exception):
    pass


def _items(subpattern: Any) -> list[tuple[Any, Any]]:
    return list(subpattern.data)


def parse(pattern: str, flags: int) -> Any:
    """The parse tree of a pattern (raises `re.error` like `re.compile`)."""
    return _parser.parse(pattern, flags)


def plan(pattern: str | Any, flags: int = 0) -> Plan:
    """The start plan of a rule's pattern, given as text or as its parse tree (see `Plan`);
    `SCAN` when it cannot be planned."""
    try:
        tree = parse(pattern, flags) if isinstance(pattern, str) else pattern
        ignorecase = bool(tree.state.flags & _c.SRE_FLAG_IGNORECASE)
        multiline = bool(tree.state.flags & _c.SRE_FLAG_MULTILINE)
        builder = _PlanBuilder(multiline)
        for items, case_insensitive in _alternatives(_items(tree), ignorecase):
            builder.add(items, case_insensitive)
        return builder.build()
    except (_Unplannable, RecursionError, AttributeError, TypeError, ValueError):
        return SCAN


def _alternatives(
    items: list[tuple[Any, Any]], ignorecase: bool
) -> Iterable[tuple[list[tuple[Any, Any]], bool]]:
    """The pattern as alternatives that each start with a plain element: leading groups are
    opened and leading alternations distributed over what follows them."""
    if not items:
        yield items, ignorecase
        return
    op, av = items[0]
    rest = items[1:]
    if op is _c.SUBPATTERN and not _sets_case(av):
        yield from _alternatives(_items(av[3]) + rest, ignorecase)
    elif op is _c.SUBPATTERN:
        # (?-i:...) or (?i:...): what it opens is matched with its own case rule; what
        # follows the group keeps the outer one. Keys ignore case anyway; anchors need it.
        inner = _case_of(av, ignorecase)
        if rest:
            yield [*_items(av[3]), (_CASE, ignorecase), *rest], inner
        else:
            yield _items(av[3]), inner
    elif op is _c.BRANCH:
        for alternative in av[1]:
            yield from _alternatives(_items(alternative) + rest, ignorecase)
    elif op is _c.AT and av is _c.AT_BOUNDARY and rest:
        # The parser moves a `\\b` that every alternative starts with in front of them.
        for alternative, case in _alternatives(rest, ignorecase):
            yield [items[0], *alternative], case
    else:
        yield items, ignorecase


_CASE = object()  # a marker in an item list: the case rule changes back here
_STOP = object()  # a marker: what follows a repeat is not known


def _sets_case(av: Any) -> bool:
    return bool((av[1] | av[2]) & _c.SRE_FLAG_IGNORECASE)


def _case_of(av: Any, ignorecase: bool) -> bool:
    if av[1] & _c.SRE_FLAG_IGNORECASE:
        return True
    if av[2] & _c.SRE_FLAG_IGNORECASE:
        return False
    return ignorecase


class _PlanBuilder:
    def __init__(self, multiline: bool) -> None:
        self.multiline = multiline
        self.words: set[str] = set()
        self.prefixes: set[str] = set()
        self.pairs: set[tuple[str, str, str]] = set()
        self.pair_prefixes: set[tuple[str, str, str]] = set()
        self.digit = False
        self.start = False
        self.chars: set[str] = set()
        self.char_gates: set[str] = set()
        self.ungated_chars = False
        self.char_filters: list[str] = []
        self.unfiltered_chars = False
        self.anchors: set[str] = set()
        self.exact_anchors: set[str] = set()

    def add(self, items: list[tuple[Any, Any]], ignorecase: bool) -> None:
        items = [item for item in items if item[0] not in (_c.ASSERT, _c.ASSERT_NOT)] or items
        first = items[0][0] if items else None
        if first is _c.AT and (
            items[0][1] is _c.AT_BEGINNING_STRING
            or (items[0][1] is _c.AT_BEGINNING and not self.multiline)
        ):
            self.start = True
            return
        if first is _c.AT and items[0][1] is _c.AT_BOUNDARY:
            keys = _first_keys(items[1:])
            if keys is not None and _cased_ascii(a + b + c for _, a, b, c in keys):
                for kind, key, sep, second in keys:
                    if kind == "word":
                        self.words.add(key)
                    elif kind == "prefix":
                        self.prefixes.add(key)
                    elif kind == "pair":
                        self.pairs.add((key, sep, second))
                    elif kind == "pair_prefix":
                        self.pair_prefixes.add((key, sep, second))
                    else:
                        self.digit = True
                return
        anchors = _anchors(items, ignorecase)
        chars = _start_chars(items[0]) if items else None
        if chars is not None:
            # "[,.;!?]\\s*(?:just\\s+)?forget": tried at those characters, and only when
            # its fixed string ("forget") is in the text.
            self.chars.update(chars)
            char_filter = _char_filter(items, chars)
            if char_filter is None:
                self.unfiltered_chars = True
            else:
                self.char_filters.append(char_filter)
            gates = {t.lower() for t, ci in anchors or () if ci and t not in chars}
            if gates and _cased_ascii(gates):
                self.char_gates.update(gates)
            else:
                self.ungated_chars = True
            return
        if anchors is None or not _cased_ascii(text for text, _ in anchors):
            raise _Unplannable
        for text, case_insensitive in anchors:
            (self.anchors if case_insensitive else self.exact_anchors).add(
                text.lower() if case_insensitive else text
            )

    def build(self) -> Plan:
        return Plan(
            frozenset(self.words),
            frozenset(self.prefixes),
            frozenset(self.pairs),
            frozenset(self.pair_prefixes),
            self.digit,
            self.start,
            frozenset(self.chars),
            frozenset() if self.ungated_chars else frozenset(self.char_gates),
            frozenset(self.anchors),
            frozenset(self.exact_anchors),
            char_filter=""
            if self.unfiltered_chars
            else "|".join(f"(?:{f})" for f in sorted(self.char_filters)),
        )


_REPEATS = (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT)


def _char_filter(items: list[Any], chars: set[str]) -> str | None:
    """What a branch that starts at one of `chars` ("[,.;!?]\\s*(?:just\\s+)?forget") must
    match at its start in the lower-cased text, as a regular expression: the character, any
    spaces, then how the next word starts. Tried at every such character, the branch mostly
    fails on the next word; the filter finds the few characters worth trying. None when the
    branch is not that simple (a run of the characters, no plain word after them)."""
    if items[0][0] not in (_c.LITERAL, _c.IN):
        return None  # a run of the characters: a match may start anywhere in it
    rest = items[1:]
    while rest and rest[0][0] in _REPEATS and _only_spaces(rest[0][1][2]):
        rest = rest[1:]
    keys = _first_keys(rest)
    if not keys or any(kind == "digit" for kind, _, _, _ in keys):
        return None
    heads = {first for _, first, _, _ in keys}
    if not _cased_ascii(heads):
        return None
    klass = "".join(re.escape(ch) for ch in sorted(chars))
    words = "|".join(re.escape(head) for head in sorted(heads, key=len, reverse=True))
    return f"[{klass}]\\s*(?:{words})"


def _start_chars(item: Any) -> set[str] | None:
    """The characters a class of plain characters at a branch's start matches ("[,.;!?]"),
    when they are few and none is part of a word; else None."""
    op, av = item
    if op is _c.MAX_REPEAT and av[0] >= 1:
        inner = _items(av[2])
        return _start_chars(inner[0]) if len(inner) == 1 else None
    if op is _c.LITERAL and not _is_word_char(av):
        return {chr(av)}
    if op is not _c.IN or not av or len(av) > 32:
        return None
    if not all(kind is _c.LITERAL and not _is_word_char(value) for kind, value in av):
        return None
    return {chr(value) for _, value in av}


def _cased_ascii(texts: Iterable[str]) -> bool:
    """Keys and anchors compare in lower case: only sound for ASCII letters and for
    characters without case (emoji, punctuation)."""
    return all(ch.isascii() or ch.lower() == ch.upper() for text in texts for ch in text)


def _is_word_char(code: int) -> bool:
    ch = chr(code)
    return ch.isalnum() or ch == "_"


Key = tuple[str, str, str, str]
# The separator of a pair of words when only spaces lie between them; else it is the first
# other character between them (`separator_key`), "'" in "i've" and in "i 've".
SPACES = " "


def _first_keys(items: list[Any]) -> set[Key] | None:
    """What a match of `items` (after `\\b`) must start with, as (kind, first, separator,
    second): ("word", w, "", "") a word equal to w; ("prefix", p, "", "") a word starting
    with p; ("digit", "", "", "") a word starting with a digit; ("pair", w, s, v) the word w,
    the separator s (`SPACES`, or the first other character between them, such as the
    apostrophe of "i've"), then a word equal to v; ("pair_prefix", w, s, p) the same with a
    second word starting with p.
    None when a match can start otherwise."""
    keys: set[Key] = set()

    def stop(first: str, sep: str, acc: str, exact: bool) -> bool:
        if first and acc:
            if exact:
                keys.add(("pair", first, sep, acc))
            else:
                keys.add(("pair_prefix", first, sep, acc))
        elif first:
            keys.add(("word", first, "", ""))
        elif acc:
            if exact:
                keys.add(("word", acc, "", ""))
            else:
                keys.add(("prefix", acc, "", ""))
        else:
            return False
        return len(keys) <= _MAX_KEYS

    def walk(items: Sequence[Any], first: str, sep: str, acc: str) -> bool:
        if not items:
            return stop(first, sep, acc, exact=False)
        head = items[0]
        if head is _STOP:
            return stop(first, sep, acc, exact=False)
        op, av = head
        rest = items[1:]
        if op is _CASE:
            return walk(rest, first, sep, acc)
        if op is _c.LITERAL:
            if _is_word_char(av):
                return walk(rest, first, sep, acc + chr(av).lower())
            if acc and not first:
                # "i'?ve": the first word ends at the apostrophe; the second decides too.
                return walk(rest, acc, _separator(chr(av)), "")
            if first and not acc:
                # "i\\s+'ve": still between the two words.
                return walk(rest, first, _joined(sep, chr(av)), "")
            return stop(first, sep, acc, exact=True)
        if op is _c.SUBPATTERN:
            return walk(_items(av[3]) + list(rest), first, sep, acc)
        if op is _c.BRANCH:
            return all(walk(_items(alt) + list(rest), first, sep, acc) for alt in av[1])
        if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
            low, high, item = av
            mark = _mark(item)
            if mark and bool(acc) != bool(first):
                # "i\\s+give", "a\\*+hole": the first word ends at the spaces or marks (or
                # goes on when they are optional); the second word decides too.
                between = (
                    walk(rest, acc, _separator(mark), "")
                    if acc
                    else walk(rest, first, _joined(sep, mark), "")
                )
                return between and (low >= 1 or walk(rest, first, sep, acc))
            once = _items(item) + (list(rest) if high == 1 else [_STOP])
            if low == 0:
                return walk(rest, first, sep, acc) and walk(once, first, sep, acc)
            return walk(once, first, sep, acc)
        if op in (_c.ASSERT, _c.ASSERT_NOT):
            return walk(rest, first, sep, acc)
        if op is _c.AT:
            return stop(first, sep, acc, exact=av is _c.AT_BOUNDARY)
        if op is _c.IN and not acc and not first and _only_digits(av):
            keys.add(("digit", "", "", ""))
            return True
        if op is _c.IN:
            return stop(first, sep, acc, exact=not _may_be_word(av))
        return stop(first, sep, acc, exact=False)

    return keys if walk(items, "", "", "") else None


def _separator(ch: str) -> str:
    """The separator key of a pair whose first word ends at `ch`."""
    return SPACES if ch.isspace() else ch


def _joined(sep: str, ch: str) -> str:
    """The separator key once `ch` follows `sep` between two words: `SPACES` while only
    spaces lie between them, else the first other character (what `separator_key` reads)."""
    return sep if sep != SPACES or ch.isspace() else ch


def separator_key(between: str) -> str:
    """The key of what lies between two words of a text (one or more characters that are not
    part of a word): `SPACES` when it is only spaces, else its first other character."""
    return SPACES if between.isspace() else between.lstrip()[0]


def _mark(item: Any) -> str:
    """A repeated item that can only match spaces (`SPACES`) or one character that is not
    part of a word (that character); else ""."""
    if _only_spaces(item):
        return SPACES
    data = _items(item)
    if len(data) == 1 and data[0][0] is _c.LITERAL and not _is_word_char(data[0][1]):
        return chr(data[0][1])
    return ""


def _only_spaces(item: Any) -> bool:
    data = _items(item)
    return (
        len(data) == 1
        and data[0][0] is _c.IN
        and all(op is _c.CATEGORY and value is _c.CATEGORY_SPACE for op, value in data[0][1])
    )


def _only_digits(av: Any) -> bool:
    return bool(av) and all(
        (op is _c.CATEGORY and value is _c.CATEGORY_DIGIT)
        or (op is _c.RANGE and 48 <= value[0] <= value[1] <= 57)
        or (op is _c.LITERAL and 48 <= value <= 57)
        for op, value in av
    )


def _may_be_word(av: Any) -> bool:
    """Whether a character class can match a word character (conservatively True)."""
    if av and av[0][0] is _c.NEGATE:
        return True
    for op, value in av:
        if op is _c.LITERAL and not _is_word_char(value):
            continue
        if op is _c.CATEGORY and value in (_c.CATEGORY_SPACE, _c.CATEGORY_NOT_WORD):
            continue
        return True
    return False


def _anchors(items: list[Any], ignorecase: bool) -> set[tuple[str, bool]] | None:
    """Strings of which every match of `items` contains at least one (with whether they
    compare case-insensitively), or None. Prefers the longest mandatory string."""
    best: set[tuple[str, bool]] | None = None

    def better(candidate: set[tuple[str, bool]] | None) -> None:
        # A single ASCII character is too common to rule anything out; an emoji is not.
        nonlocal best
        if not candidate or any(len(t) < 2 and t.isascii() for t, _ in candidate):
            return
        if best is None or min(len(t) for t, _ in candidate) > min(len(t) for t, _ in best):
            best = candidate

    run = ""
    case = ignorecase
    for item in [*items, None]:
        if item is not None and item is not _STOP and item[0] is _c.LITERAL:
            run += chr(item[1])
            continue
        if run:
            better({(run, case)})
            run = ""
        if item is None or item is _STOP:
            continue
        op, av = item
        if op is _CASE:
            case = bool(av)
        elif op is _c.SUBPATTERN:
            better(_anchors(_items(av[3]), _case_of(av, case)))
        elif op is _c.BRANCH:
            found = [_anchors(_items(alternative), case) for alternative in av[1]]
            if all(found):
                better(set().union(*(f for f in found if f)))
        elif op is _c.IN:
            better(_class_strings(av, 1, case))
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT) and av[0] >= 1:
            inner = _items(av[2])
            if len(inner) == 1 and inner[0][0] in (_c.LITERAL, _c.IN) and av[0] >= 2:
                # "\\*{2,}" holds "**"; "[#@]{2,}" holds one of "##", "#@", "@#", "@@".
                item = [(_c.IN, [inner[0]])] if inner[0][0] is _c.LITERAL else inner
                better(_class_strings(item[0][1], 2, case))
            better(_anchors(inner, case))
    return best


def _class_strings(av: Any, length: int, case: bool) -> set[tuple[str, bool]] | None:
    """The strings of `length` characters a class of plain characters can match (few)."""
    if not av or not all(op is _c.LITERAL for op, _ in av):
        return None
    chars = [chr(value) for _, value in av]
    if len(chars) ** length > 64:
        return None
    strings = [""]
    for _ in range(length):
        strings = [prefix + ch for prefix in strings for ch in chars]
    return {(text, case) for text in strings}


# -- safety ------------------------------------------------------------------------------------


def nested_quantifier(pattern: str | Any, flags: int = 0) -> str | None:
    """A description of a repeat that holds another repeat (`(a+)+`, `(\\w+\\s*)*`, `(x{2,9})*`),
    or None; the pattern is given as text or as its parse tree. Such a pattern can try
    exponentially many ways to split a long text before failing; bound the outer repeat
    (`{0,5}`) instead."""
    try:
        tree = parse(pattern, flags) if isinstance(pattern, str) else pattern
    except Exception:  # compiling reports the real error
        return None
    return _nested(_items(tree), inside=None)


def _nested(items: list[Any], inside: str | None) -> str | None:
    for op, av in items:
        if op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
            _low, high, item = av
            unbounded = high == _c.MAXREPEAT
            if inside is not None and high > 1:
                return f"a repeated group inside {inside}"
            found = _nested(_items(item), "an unbounded repeat" if unbounded else inside)
            if found:
                return found
        elif op is _c.SUBPATTERN:
            found = _nested(_items(av[3]), inside)
            if found:
                return found
        elif op is _c.BRANCH:
            for alternative in av[1]:
                found = _nested(_items(alternative), inside)
                if found:
                    return found
        elif op in (_c.ASSERT, _c.ASSERT_NOT):
            found = _nested(_items(av[1]), inside)
            if found:
                return found
    return None


def alphabet(pattern: str, flags: int) -> tuple[list[str], list[str]]:
    """The characters and the literal words of a pattern: the material of adversarial texts
    (a character of each class it uses, its fixed strings)."""
    chars: dict[str, None] = {}
    words: dict[str, None] = {}
    try:
        tree = parse(pattern, flags)
    except Exception:
        return [], []
    _collect(_items(tree), chars, words)
    return list(chars), list(words)


_CATEGORY_SAMPLES = {
    "CATEGORY_DIGIT": "1",
    "CATEGORY_NOT_DIGIT": "a",
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_SPACE": "a",
    "CATEGORY_WORD": "a",
    "CATEGORY_NOT_WORD": "!",
}


def _collect(items: list[Any], chars: dict[str, None], words: dict[str, None]) -> None:
    run = ""
    for item in [*items, None]:
        if item is not None and item[0] is _c.LITERAL:
            run += chr(item[1])
            chars[chr(item[1])] = None
            continue
        if len(run) >= 2:
            words[run] = None
        run = ""
        if item is None:
            continue
        op, av = item
        if op is _c.SUBPATTERN:
            _collect(_items(av[3]), chars, words)
        elif op is _c.BRANCH:
            for alternative in av[1]:
                _collect(_items(alternative), chars, words)
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
            _collect(_items(av[2]), chars, words)
        elif op in (_c.ASSERT, _c.ASSERT_NOT):
            _collect(_items(av[1]), chars, words)
        elif op is _c.IN:
            for class_op, value in av:
                if class_op is _c.LITERAL:
                    chars[chr(value)] = None
                elif class_op is _c.RANGE:
                    chars[chr(value[0])] = None
                elif class_op is _c.CATEGORY:
                    chars[_CATEGORY_SAMPLES.get(str(value), "a")] = None
        elif op is _c.ANY:
            chars["a"] = None
