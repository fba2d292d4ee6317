"""Entity extraction: the concrete facts a customer mentions, so nobody has to ask twice.

Rule-based on purpose: order numbers, amounts and dates are formats, not meanings, so precise
patterns beat a model here and every result can be explained. Identifiers count only when
labelled ("order #12345", "ticket 4821") or when their format is unmistakable (UPS "1Z...",
"INV-2024-0042", Amazon "112-7788990-1234567"), so a plain "3" or a year is never an id.

Every pattern is bounded (no nested unbounded quantifiers, matches start at token boundaries),
so time is linear in the input; each pattern contributes at most a few hundred candidates and
the result is capped at MAX_ENTITIES. Candidates are resolved by priority so a span gets one
type: email > labelled or formatted id > amount > date > phone > plan. Spans that are payment
card numbers are never reported (they must not travel in handoff packets).

Values are normalised: ids upper case, emails lower case, phones "+CC..." or national digits,
amounts "45.99 USD", plans "premium plan", dates the lower-cased surface text followed by the
ISO date in parentheses when the text pins one down ("march 3, 2025 (2025-03-03)"; "yesterday",
"3 march" and the ambiguous "03/04/2025" stay as text, since no reference date is known here).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final

from warmline.redaction import find_card_spans, find_email_spans, find_phone_spans
from warmline.understanding.types import Entity

MAX_ENTITIES: Final = 50
_MAX_CANDIDATES_PER_PATTERN: Final = 400

# Priorities, strongest first. Card numbers win every overlap and are then dropped.
_CARD, _EMAIL, _ID, _AMOUNT, _DATE, _PHONE, _PLAN = range(7)


@dataclass(frozen=True)
class _Candidate:
    priority: int
    start: int
    end: int
    type: str
    value: str


# ---------------------------------------------------------------------------------------------
# Labelled identifiers: order, invoice, ticket, tracking and account numbers
# ---------------------------------------------------------------------------------------------

# An id token: letters, digits and inner dashes, containing at least one digit.
_ID_TOKEN = r"(?P<id>(?=[A-Za-z-]{0,39}[0-9])[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}[A-Za-z0-9])?)\b"
_KEYWORD = r"(?P<kw>(?:number|num|nr|no|id|ref|reference|code)\b\.?)"
_YEAR_ONLY = re.compile(r"(?:19|20)[0-9]{2}")
_CONTINUATION_RE: Final = re.compile(
    r"\s{0,2}(?:,|&|/|\band\b|\bor\b)\s{0,3}(?P<hash>[#№])?\s?" + _ID_TOKEN, re.IGNORECASE
)


@dataclass(frozen=True)
class _IdRule:
    """How much labelling an id needs: "#" < keyword or ":" < bare label word."""

    type: str
    pattern: re.Pattern[str]
    min_hash: int
    min_strong: int
    min_weak: int

    def accepts(self, ident: str, *, hashed: bool, strong: bool) -> bool:
        if hashed:
            return len(ident) >= self.min_hash
        if strong:
            return len(ident) >= self.min_strong
        return len(ident) >= self.min_weak and not _YEAR_ONLY.fullmatch(ident)


def _label_pattern(words: str, *, keyword_required: bool = False) -> re.Pattern[str]:
    keyword = _KEYWORD if keyword_required else _KEYWORD + "?"
    return re.compile(
        rf"\b(?:{words})s?\b"
        rf"\s{{0,3}}{keyword}\s{{0,3}}(?:(?:is|was)\b\s{{0,3}})?(?P<punct>(?:[:#=№]\s{{0,2}}){{0,2}})"
        + _ID_TOKEN,
        re.IGNORECASE,
    )


_ID_RULES: Final = (
    _IdRule("order_number", _label_pattern("order|purchase"), 2, 3, 5),
    _IdRule("invoice_number", _label_pattern("invoice|inv"), 2, 3, 5),
    _IdRule("ticket_number", _label_pattern(r"ticket|(?<!\bin\s)case|incident"), 2, 3, 4),
    _IdRule(
        "tracking_number",
        _label_pattern("tracking|shipment|parcel|package|consignment|waybill|awb"),
        8,
        8,
        8,
    ),
    _IdRule("account_number", _label_pattern(r"account|acct|a/c"), 4, 4, 6),
    _IdRule(
        "account_number",
        _label_pattern("customer|member|membership|subscriber|client", keyword_required=True),
        4,
        4,
        4,
    ),
)


def _labelled_ids(text: str) -> Iterator[_Candidate]:
    for rule in _ID_RULES:
        for m in _limited(rule.pattern.finditer(text)):
            punct = m.group("punct")
            hashed = "#" in punct or "№" in punct
            strong = hashed or bool(m.group("kw")) or bool(punct.strip())
            if not rule.accepts(m.group("id"), hashed=hashed, strong=strong):
                continue
            yield _Candidate(_ID, m.start("id"), m.end("id"), rule.type, m.group("id").upper())
            yield from _continued_ids(text, m.end(), rule)


def _continued_ids(text: str, position: int, rule: _IdRule) -> Iterator[_Candidate]:
    """Lists under one label: "orders #123, #456 and #789"."""
    for _ in range(10):
        m = _CONTINUATION_RE.match(text, position)
        if m is None:
            return
        ident = m.group("id")
        # A list continues under the label only with the same care as a bare label.
        if not rule.accepts(ident, hashed=bool(m.group("hash")), strong=False):
            return
        yield _Candidate(_ID, m.start("id"), m.end("id"), rule.type, ident.upper())
        position = m.end()


# Formats recognisable without a label.
_FORMATTED_IDS: Final = (
    ("order_number", re.compile(r"(?<![\w-])[0-9]{3}-[0-9]{7}-[0-9]{7}(?![\w-])")),
    (
        "invoice_number",
        re.compile(r"\bINV[-/]?[0-9](?:[0-9]|[-/](?=[0-9])){1,24}\b", re.IGNORECASE),
    ),
    ("tracking_number", re.compile(r"(?<![A-Za-z0-9])1Z[0-9A-Z]{16}(?![A-Za-z0-9])", re.I)),
    ("tracking_number", re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}[0-9]{9}[A-Z]{2}(?![A-Za-z0-9])")),
)
_USPS_RE: Final = re.compile(
    r"(?<![0-9])9[2-5][0-9]{2}(?: ?[0-9]{4}){3,4}(?: ?[0-9]{2,4})?(?![0-9])"
)


def _formatted_ids(text: str) -> Iterator[_Candidate]:
    for entity_type, pattern in _FORMATTED_IDS:
        for m in _limited(pattern.finditer(text)):
            yield _Candidate(_ID, m.start(), m.end(), entity_type, m.group().upper())
    for m in _limited(_USPS_RE.finditer(text)):
        digits = m.group().replace(" ", "")
        if 20 <= len(digits) <= 22:
            yield _Candidate(_ID, m.start(), m.end(), "tracking_number", digits)


# ---------------------------------------------------------------------------------------------
# Amounts
# ---------------------------------------------------------------------------------------------

_CODES = (
    "USD|EUR|GBP|JPY|CAD|AUD|NZD|CHF|CNY|INR|SEK|NOK|DKK|PLN|CZK|HUF|MXN|BRL|ZAR|SGD|HKD|KRW|"
    "RUB|TRY|ILS|AED|SAR|PHP|THB|IDR|MYR|NGN|KES|EGP|ARS|CLP|COP|PEN|RON|UAH|VND|PKR"
)
_PREFIX_SYMBOLS: Final = {
    "$": "USD",
    "US$": "USD",
    "C$": "CAD",
    "CA$": "CAD",
    "A$": "AUD",
    "AU$": "AUD",
    "NZ$": "NZD",
    "HK$": "HKD",
    "S$": "SGD",
    "R$": "BRL",
    "MX$": "MXN",
    "£": "GBP",
    "€": "EUR",
    "¥": "JPY",
    "₹": "INR",
    "₩": "KRW",
    "₽": "RUB",
    "₺": "TRY",
    "₪": "ILS",
    "₱": "PHP",
    "RS": "INR",
    "RS.": "INR",
    "ZŁ": "PLN",
}
# Currency words; the second item divides the amount (cents, pence).
_WORDS: Final = {
    "dollar": ("USD", 1),
    "buck": ("USD", 1),
    "euro": ("EUR", 1),
    "pound": ("GBP", 1),
    "quid": ("GBP", 1),
    "yen": ("JPY", 1),
    "rupee": ("INR", 1),
    "cent": ("USD", 100),
    "pence": ("GBP", 100),
    "penny": ("GBP", 100),
}
_MULTIPLIERS: Final = {
    "k": 1_000,
    "thousand": 1_000,
    "m": 1_000_000,
    "million": 1_000_000,
    "bn": 1_000_000_000,
    "billion": 1_000_000_000,
}

# 1,234.56 / 1.234,56 / 1'234 / 45.99 / 12,50 / 45; a group of exactly three digits after a
# separator is read as thousands, one or two as decimals.
_NUMBER = (
    r"(?P<int>[0-9]{1,3}(?P<ts>[,.'\u00a0\u202f])[0-9]{3}(?:(?P=ts)[0-9]{3}){0,5}|[0-9]{1,15})"
    r"(?:[.,](?P<dec>[0-9]{1,2}))?(?![0-9]|[.,][0-9])"
)
_SYMBOL_ALTERNATION = r"US\$|CA\$|C\$|AU\$|A\$|NZ\$|HK\$|S\$|R\$|MX\$|\$|£|€|¥|₹|₩|₽|₺|₪|₱|Rs\.?"
_AMOUNT_PREFIX_RE: Final = re.compile(
    rf"(?<![A-Za-z0-9$£€¥])(?P<cur>{_SYMBOL_ALTERNATION}|{_CODES})\s?{_NUMBER}"
    r"(?:(?P<mult>[kKmM]|bn)\b|\s(?P<multw>thousand|million|billion)\b)?"
    rf"(?:\s?(?P<cur2>{_CODES})\b)?"
)
_AMOUNT_SUFFIX_RE: Final = re.compile(
    rf"(?<![A-Za-z0-9$£€¥.,]){_NUMBER}\s?(?P<cur>[€$£¥₹₩₽₺₪₱]|zł|(?:{_CODES}|usd|eur|gbp)\b|"
    # "5 pounds of flour" is a weight.
    r"(?i:(?:dollar|buck|euro|rupee|cent)s?|pounds?\b(?!\s{1,3}of\b)|quid|yen|pence|penny)\b)"
)


def _decimal(match: re.Match[str]) -> Decimal | None:
    integer = match.group("int")
    if match.group("ts"):
        integer = integer.replace(match.group("ts"), "")
    try:
        return Decimal(f"{integer}.{match.group('dec') or '0'}")
    except InvalidOperation:
        return None


def _amount(match: re.Match[str], code: str, divisor: int, multiplier: int) -> str | None:
    number = _decimal(match)
    if number is None:
        return None
    try:
        value = (number * multiplier / divisor).quantize(Decimal("0.01"))
    except InvalidOperation:  # beyond Decimal precision: not an amount anyone typed
        return None
    return f"{value} {code}"


def _amounts(text: str) -> Iterator[_Candidate]:
    for m in _limited(_AMOUNT_PREFIX_RE.finditer(text)):
        symbol = m.group("cur")
        code = m.group("cur2") or _PREFIX_SYMBOLS.get(symbol.upper(), symbol)
        mult = (m.group("mult") or m.group("multw") or "").lower()
        value = _amount(m, code, 1, _MULTIPLIERS.get(mult, 1))
        if value is not None:
            yield _Candidate(_AMOUNT, m.start(), m.end(), "amount", value)
    for m in _limited(_AMOUNT_SUFFIX_RE.finditer(text)):
        code, divisor = _suffix_currency(m.group("cur"))
        value = _amount(m, code, divisor, 1)
        if value is not None:
            yield _Candidate(_AMOUNT, m.start(), m.end(), "amount", value)


def _suffix_currency(surface: str) -> tuple[str, int]:
    word = surface.lower()
    if word in _WORDS:
        return _WORDS[word]
    if word.endswith("s") and word[:-1] in _WORDS:
        return _WORDS[word[:-1]]
    return _PREFIX_SYMBOLS.get(surface.upper(), surface.upper()), 1


# ---------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------

_MONTH_NUMBERS: Final = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = (
    r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?"
)
_DAY = r"(?P<day>[12][0-9]|3[01]|0?[1-9])(?:st|nd|rd|th)?\b"
_YEAR = r"(?P<year>(?:19|20)[0-9]{2})\b"
_MONTH_DATE_RES: Final = (
    re.compile(rf"\b{_DAY}(?:\s{{1,3}}of)?\s{{1,3}}{_MONTH}(?:,?\s{{1,3}}{_YEAR})?", re.I),
    re.compile(rf"\b{_MONTH}\s{{1,3}}(?:the\s{{1,3}})?{_DAY}(?:,?\s{{1,3}}{_YEAR})?", re.I),
    re.compile(rf"\b{_MONTH}\s{{1,3}}{_YEAR}", re.I),
)
_ISO_RE: Final = re.compile(
    r"(?<![0-9./-])(?P<y>(?:19|20)[0-9]{2})(?P<sep>[-/.])(?P<m>[0-9]{1,2})(?P=sep)"
    r"(?P<d>[0-9]{1,2})(?![0-9]|[./-][0-9])"
)
_NUMERIC_DATE_RE: Final = re.compile(
    r"(?<![0-9./-])(?P<a>[0-9]{1,2})(?P<sep>[/.-])(?P<b>[0-9]{1,2})(?P=sep)"
    r"(?P<y>(?:19|20)[0-9]{2}|[0-9]{2})(?![0-9]|[./-][0-9])"
)
_COUNT = (
    r"(?:[0-9]{1,3}|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"a\s{1,3}few|a\s{1,3}couple(?:\s{1,3}of)?|couple(?:\s{1,3}of)?|few|several)"
)
_UNIT = r"(?:business\s{1,3}|working\s{1,3})?(?:days?|weeks?|months?|years?)"
_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_RELATIVE_DATE_RE: Final = re.compile(
    rf"""\b(?:
        (?:the\s{{1,3}})?day\s{{1,3}}(?:before\s{{1,3}}yesterday|after\s{{1,3}}tomorrow)
      | (?:last|next|this|past|coming)\s{{1,3}}
        (?:{_COUNT}\s{{1,3}}{_UNIT}|week(?:end)?|month|year|{_WEEKDAY}|night|morning
           |afternoon|evening)
      | (?:earlier|later)\s{{1,3}}today
      | in\s{{1,3}}{_COUNT}\s{{1,3}}{_UNIT}
      | {_COUNT}\s{{1,3}}{_UNIT}\s{{1,3}}ago
      | yesterday | today | tonight | tomorrow
      | {_WEEKDAY}
    )\b""",
    re.IGNORECASE | re.VERBOSE,
)


def _surface(text: str) -> str:
    return " ".join(text.lower().split())


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def _date_value(surface: str, iso: str | None) -> str:
    normalised = _surface(surface)
    return normalised if iso is None or iso == normalised else f"{normalised} ({iso})"


def _dates(text: str) -> Iterator[_Candidate]:
    for m in _limited(_RELATIVE_DATE_RE.finditer(text)):
        yield _Candidate(_DATE, m.start(), m.end(), "date", _surface(m.group()))
    for pattern in _MONTH_DATE_RES:
        for m in _limited(pattern.finditer(text)):
            candidate = _month_date(m)
            if candidate is not None:
                yield candidate
    for m in _limited(_ISO_RE.finditer(text)):
        iso = _iso(int(m.group("y")), int(m.group("m")), int(m.group("d")))
        if iso is not None:
            yield _Candidate(_DATE, m.start(), m.end(), "date", _date_value(m.group(), iso))
    for m in _limited(_NUMERIC_DATE_RE.finditer(text)):
        candidate = _numeric_date(m)
        if candidate is not None:
            yield candidate


def _month_date(m: re.Match[str]) -> _Candidate | None:
    month = _MONTH_NUMBERS[m.group("month").lower()]
    groups = m.groupdict()
    day = int(groups["day"]) if groups.get("day") else None
    year = int(groups["year"]) if groups.get("year") else None
    if day is not None and day > calendar.monthrange(2024, month)[1]:  # 2024: allow 29 Feb
        return None
    iso = _iso(year, month, day) if (year is not None and day is not None) else None
    return _Candidate(_DATE, m.start(), m.end(), "date", _date_value(m.group(), iso))


def _numeric_date(m: re.Match[str]) -> _Candidate | None:
    """03/04/2025 is ambiguous (March or April), 13/04/2025 is not; dotted dates are day-first."""
    sep, raw_year = m.group("sep"), m.group("y")
    if len(raw_year) == 2 and sep != "/":
        return None  # "1.2.34" is a version number, not a date
    year = int(raw_year) if len(raw_year) == 4 else 2000 + int(raw_year)
    a, b = int(m.group("a")), int(m.group("b"))
    readings = {_iso(year, b, a)} if sep == "." else {_iso(year, a, b), _iso(year, b, a)}
    readings.discard(None)
    if not readings:
        return None
    iso = readings.pop() if len(readings) == 1 else None
    return _Candidate(_DATE, m.start(), m.end(), "date", _date_value(m.group(), iso))


# ---------------------------------------------------------------------------------------------
# Plans, emails, phones
# ---------------------------------------------------------------------------------------------

_PLAN_NAME = (
    r"(?:unlimited|premium|basic|standard|pro|plus|business|family|enterprise|starter|free|"
    r"gold|silver|bronze|platinum|student|prepaid|postpaid|annual|yearly|monthly|"
    r"[0-9]{1,4}\s?[gt]b)"
)
_PLAN_RE: Final = re.compile(
    rf"\b{_PLAN_NAME}(?:\s{{1,3}}(?:plus|max|pro|lite|premium|unlimited|[0-9]{{1,4}}\s?[gt]b))"
    r"{0,2}\s{1,3}(?:plan|tier|subscription|package|bundle|membership)\b",
    re.IGNORECASE,
)


def _plans(text: str) -> Iterator[_Candidate]:
    for m in _limited(_PLAN_RE.finditer(text)):
        yield _Candidate(_PLAN, m.start(), m.end(), "plan", _surface(m.group()))


def _emails(text: str) -> Iterator[_Candidate]:
    for span in find_email_spans(text)[:_MAX_CANDIDATES_PER_PATTERN]:
        yield _Candidate(_EMAIL, span.start, span.end, "email", span.value)


def _cards(text: str) -> Iterator[_Candidate]:
    for span in find_card_spans(text)[:_MAX_CANDIDATES_PER_PATTERN]:
        yield _Candidate(_CARD, span.start, span.end, "card", "")


def _phones(text: str) -> Iterator[_Candidate]:
    for span in find_phone_spans(text)[:_MAX_CANDIDATES_PER_PATTERN]:
        yield _Candidate(_PHONE, span.start, span.end, "phone", span.value)


# ---------------------------------------------------------------------------------------------
# Resolution
# ---------------------------------------------------------------------------------------------

_EXTRACTORS: Final[tuple[Callable[[str], Iterator[_Candidate]], ...]] = (
    _cards,
    _emails,
    _labelled_ids,
    _formatted_ids,
    _amounts,
    _dates,
    _phones,
    _plans,
)


def _limited(matches: Iterator[re.Match[str]]) -> Iterator[re.Match[str]]:
    """The first matches only: entities are reported in text order and capped anyway."""
    for count, match in enumerate(matches):
        if count >= _MAX_CANDIDATES_PER_PATTERN:
            return
        yield match


def _resolve(candidates: list[_Candidate]) -> list[_Candidate]:
    """Non-overlapping candidates, strongest type first, then longest, then leftmost."""
    candidates.sort(key=lambda c: (c.priority, c.start - c.end, c.start))
    starts: list[int] = []
    ends: list[int] = []
    kept: list[_Candidate] = []
    for candidate in candidates:
        i = bisect_right(starts, candidate.start)
        if i and ends[i - 1] > candidate.start:
            continue
        if i < len(starts) and starts[i] < candidate.end:
            continue
        starts.insert(i, candidate.start)
        ends.insert(i, candidate.end)
        kept.append(candidate)
    return kept


def extract_entities(text: str) -> tuple[Entity, ...]:
    """The entities in a customer message, in text order, at most MAX_ENTITIES.

    Never raises: empty, whitespace-only or non-text input gives an empty tuple.
    """
    if not isinstance(text, str) or not text.strip():
        return ()
    candidates = [candidate for extractor in _EXTRACTORS for candidate in extractor(text)]
    kept = [c for c in _resolve(candidates) if c.priority != _CARD]
    kept = sorted(kept, key=lambda c: c.start)[:MAX_ENTITIES]
    return tuple(Entity(type=c.type, value=c.value, start=c.start, end=c.end) for c in kept)
