"""Personal data: found once, masked before anything is stored or printed, redacted from logs.

Card numbers, IBANs, US social security numbers, emails and phone numbers are found here.
`mask` is the form warmline stores and prints ("[CARD visa ending 4242]", "[EMAIL
a***@example.com]", "[PHONE ending 0958]", "[IBAN]", "[SSN]"); `redact` is the strictest form,
bare placeholders ("[CARD]", "[EMAIL]", ...), for log lines and anything sent to an LLM.
Detection is pattern plus checksum (Luhn for cards, mod-97 for IBANs) so ordinary numbers
survive, and it deliberately keeps what support staff need: dates, amounts and numbers
labelled as order, invoice, ticket or tracking numbers are left alone.

All patterns are precompiled and free of nested unbounded quantifiers, so the cost is linear in
the input length (a 100,000-character message takes milliseconds). The finders are public
because entity extraction reuses them: one definition of "a phone number" for the whole engine.

Known limits: digits must be ASCII (full-width or other-script digits are not detected), card
numbers must pass the Luhn check, and unformatted 10-digit numbers count as phones only when
labelled ("call me at 5551234567") or written with a leading trunk 0.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar, cast

CARD: Final = "[CARD]"
EMAIL: Final = "[EMAIL]"
PHONE: Final = "[PHONE]"
IBAN: Final = "[IBAN]"
SSN: Final = "[SSN]"
TOO_DEEP: Final = "[REDACTED]"

_MAX_DEPTH: Final = 64

_T = TypeVar("_T")


@dataclass(frozen=True)
class Span:
    """A detected piece of personal data: its position and a normalised value."""

    start: int
    end: int
    value: str


# ---------------------------------------------------------------------------------------------
# Email
# ---------------------------------------------------------------------------------------------

EMAIL_RE: Final = re.compile(
    # The lookbehind makes matches start only at the beginning of a token, which keeps a long
    # run of letters without "@" linear instead of quadratic.
    r"(?<![\w.%+-])[\w.%+-]{1,64}@"
    r"(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.){1,8}[^\W\d_]{2,24}(?![\w-])"
)


def find_email_spans(text: str) -> list[Span]:
    """Every email address, normalised to lower case."""
    return [Span(m.start(), m.end(), m.group().lower()) for m in EMAIL_RE.finditer(text)]


# ---------------------------------------------------------------------------------------------
# Payment cards
# ---------------------------------------------------------------------------------------------

# Digit groups joined by separators people type (one or two spaces, tabs or no-break spaces,
# or a dash, dot, slash or underscore with optional spaces around it), not glued to letters
# (hex ids such as "37de3d3b3411448284888862bdb7f449" hold Luhn-valid runs); which groups form
# a card is decided in Python.
_CARD_SEPARATOR: Final = r"(?:[ \t\u00a0]{1,2}|[ \t\u00a0]?[./_-][ \t\u00a0]?)"
_CARD_CHAIN_RE: Final = re.compile(rf"(?<![0-9A-Za-z])[0-9]+(?:{_CARD_SEPARATOR}[0-9]+)*")
_DIGIT_GROUP_RE: Final = re.compile(r"[0-9]+")
_CARD_GROUPINGS: Final = ((4, 6, 5), (4, 6, 4))


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum every payment card number satisfies (and 90% of random numbers fail)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        if index % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def _card_shaped(lengths: tuple[int, ...]) -> bool:
    """Cards are written unbroken, in groups of four, or 4-6-5 / 4-6-4 (Amex, Diners)."""
    if len(lengths) == 1:
        return True
    if lengths in _CARD_GROUPINGS:
        return True
    return all(n == 4 for n in lengths[:-1]) and 1 <= lengths[-1] <= 4


def _is_card(digits: str, lengths: tuple[int, ...]) -> bool:
    return (
        13 <= len(digits) <= 19
        and digits[0] in "23456"
        and _card_shaped(lengths)
        and luhn_valid(digits)
    )


def find_card_spans(text: str) -> list[Span]:
    """Luhn-valid card numbers (13-19 digits, unbroken or grouped with spaces, dashes, dots,
    slashes or underscores)."""
    spans: list[Span] = []
    for chain in _CARD_CHAIN_RE.finditer(text):
        if chain.end() - chain.start() < 13:
            continue
        groups = [(m.start(), m.end()) for m in _DIGIT_GROUP_RE.finditer(text, *chain.span())]
        totals = [0]
        for start, end in groups:
            totals.append(totals[-1] + end - start)
        i = 0
        while i < len(groups):
            found = _card_at(text, groups, totals, i)
            if found is None:
                i += 1
                continue
            j, digits = found
            end = groups[j][1]
            if end < len(text) and text[end].isascii() and text[end].isalpha():
                i += 1  # glued to a letter: part of an identifier, not a card
                continue
            spans.append(Span(groups[i][0], end, digits))
            i = j + 1
    return spans


def _card_at(
    text: str, groups: list[tuple[int, int]], totals: list[int], i: int
) -> tuple[int, str] | None:
    """The longest card starting at group i, as (last group index, digits)."""
    for j in range(min(len(groups) - 1, i + 4), i - 1, -1):
        if not 13 <= totals[j + 1] - totals[i] <= 19:  # cheap test first: most runs fail here
            continue
        lengths = tuple(end - start for start, end in groups[i : j + 1])
        digits = "".join(text[start:end] for start, end in groups[i : j + 1])
        if _is_card(digits, lengths):
            return j, digits
    return None


# ---------------------------------------------------------------------------------------------
# IBAN
# ---------------------------------------------------------------------------------------------

_IBAN_RE: Final = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}(?:[ ]?[A-Za-z0-9]){11,30}(?![A-Za-z0-9])"
)


def _iban_valid(compact: str) -> bool:
    if not 15 <= len(compact) <= 34 or not compact[:2].isalpha():
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(char, 36)) for char in rearranged)
    return int(number) % 97 == 1


def find_iban_spans(text: str) -> list[Span]:
    """IBANs that pass the mod-97 check, compact or in groups of four."""
    spans: list[Span] = []
    for match in _IBAN_RE.finditer(text):
        # The pattern may run on into following words ("... 3000 IS MINE"): try the longest
        # prefix ending at a group boundary first, then shorter ones.
        surface = match.group()
        ends = [len(surface)] + [k for k in range(len(surface) - 1, 0, -1) if surface[k] == " "]
        for end in ends:
            compact = surface[:end].replace(" ", "").upper()
            if _iban_valid(compact):
                spans.append(Span(match.start(), match.start() + end, compact))
                break
    return spans


# ---------------------------------------------------------------------------------------------
# US social security numbers
# ---------------------------------------------------------------------------------------------

_SSN_RE: Final = re.compile(r"(?<![0-9-])([0-9]{3})-([0-9]{2})-([0-9]{4})(?![0-9]|-[0-9])")
_SSN_LABELLED_RE: Final = re.compile(
    r"\b(?:ssn|social\s{1,3}security(?:\s{1,3}(?:number|no\.?|#))?)\s{0,3}(?:is\b|[:#])?\s{0,3}"
    r"(?P<ssn>([0-9]{3})[- ]?([0-9]{2})[- ]?([0-9]{4}))(?![0-9])",
    re.IGNORECASE,
)


def _ssn_plausible(area: str, group: str, serial: str) -> bool:
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def find_ssn_spans(text: str) -> list[Span]:
    """US SSNs written 123-45-6789, or labelled ("SSN 123456789")."""
    spans = [
        Span(m.start(), m.end(), m.group(1) + m.group(2) + m.group(3))
        for m in _SSN_RE.finditer(text)
        if _ssn_plausible(m.group(1), m.group(2), m.group(3))
    ]
    for m in _SSN_LABELLED_RE.finditer(text):
        if _ssn_plausible(m.group(2), m.group(3), m.group(4)):
            spans.append(Span(m.start("ssn"), m.end("ssn"), m.group(2) + m.group(3) + m.group(4)))
    return spans


# ---------------------------------------------------------------------------------------------
# Phone numbers
# ---------------------------------------------------------------------------------------------

# A chain of digit groups joined by one separator (or by parentheses). Separators are
# mandatory between bare groups, so a digit run has one tokenisation and matching is linear.
_PHONE_CHAIN_RE: Final = re.compile(
    r"(?<![\w+@/.,-])(?:\+\s?)?\(?[0-9]{1,15}\)?"
    r"(?:(?:[ \u00a0.-]|(?<=\))|(?=\())\(?[0-9]{1,15}\)?){0,12}"
)
_PHONE_PIECE_RE: Final = re.compile(r"\(?[0-9]+\)?")

# Numbers labelled as something else are not phones ("order 112-7788990-1234567").
_ID_LABEL_BEFORE_RE: Final = re.compile(
    r"(?:\b(?:order|invoice|inv|ticket|case|incident|tracking|shipment|parcel|package|account|"
    r"acct|customer|member|ref|reference|confirmation|booking|reservation|policy|serial|sku|"
    r"item|model|transaction|receipt|claim|po)s?\b"
    r"(?:\s{0,2}(?:number|num|nr|no|id|ref|code)\b\.?)?"
    r"\s{0,2}(?:(?:is|was)\b\s{0,2})?(?:[:#=]\s{0,2}){0,2}|#\s?)$",
    re.IGNORECASE,
)
_PHONE_LABEL_BEFORE_RE: Final = re.compile(
    r"\b(?:phone|tel|telephone|mobile|mob|cell|cellphone|landline|whatsapp|fax|sms|number|"
    r"(?:call|text|reach|contact|ring)(?:\s{1,2}(?:me|us))?)"
    r"(?:\s{0,2}(?:number|no\.?|nr|#))?\s{0,2}(?:(?:is|at|on)\b\s{0,2})?(?:[:-]\s{0,2})?$",
    re.IGNORECASE,
)
_CURRENCY_BEFORE_RE: Final = re.compile(
    r"(?:[$£€¥₹₩₽₺₪₱]|\b(?:USD|EUR|GBP|CAD|AUD|CHF|JPY|INR|Rs\.?))\s?$"
)
_CURRENCY_AFTER_RE: Final = re.compile(
    r"\s?(?:[$£€¥₹%]|(?:usd|eur|gbp|dollars?|euros?|pounds?|bucks)\b)", re.IGNORECASE
)
_DECIMAL_AFTER_RE: Final = re.compile(r"[.,][0-9]")
_LOOKBACK: Final = 48
_JOINERS: Final = ("-", ".")


@dataclass(frozen=True)
class _Piece:
    start: int
    end: int
    digits: str
    text: str
    sep_before: str


def _pieces(text: str, start: int, end: int) -> list[_Piece]:
    pieces: list[_Piece] = []
    previous_end = start
    for m in _PHONE_PIECE_RE.finditer(text, start, end):
        sep = text[previous_end : m.start()] if pieces else ""
        digits = m.group().strip("()")
        pieces.append(_Piece(m.start(), m.end(), digits, m.group(), sep))
        previous_end = m.end()
    return pieces


def _valid_date(a: int, b: int, c: int) -> bool:
    """Whether (year, month, day) is a real calendar date, roughly (day <= 31)."""
    return 1900 <= a <= 2099 and 1 <= b <= 12 and 1 <= c <= 31


def _date_barriers(pieces: list[_Piece]) -> set[int]:
    """Indices of pieces that form a date with a four-digit year (2025-03-04, 04.03.2025)."""
    barriers: set[int] = set()
    for k in range(len(pieces) - 2):
        a, b, c = pieces[k], pieces[k + 1], pieces[k + 2]
        if b.sep_before != c.sep_before or b.sep_before not in ("-", "."):
            continue
        if not (a.digits.isdigit() and b.digits.isdigit() and c.digits.isdigit()):
            continue
        x, y, z = int(a.digits), int(b.digits), int(c.digits)
        ymd = len(a.digits) == 4 and _valid_date(x, y, z)
        dmy = len(c.digits) == 4 and (_valid_date(z, y, x) or _valid_date(z, x, y))
        if ymd or dmy:
            barriers.update((k, k + 1, k + 2))
    return barriers


def _block_barriers(pieces: list[_Piece]) -> set[int]:
    """Runs of four or more 4-digit groups: card, IBAN and tracking-number layout, not a phone."""
    barriers: set[int] = set()
    run: list[int] = []
    for k, piece in enumerate([*pieces, None]):
        if piece is not None and len(piece.digits) == 4 and piece.digits.isdigit():
            run.append(k)
            continue
        if len(run) >= 4:
            barriers.update(run)
        run = []
    return barriers


def _ip_barriers(pieces: list[_Piece]) -> set[int]:
    """Pieces of an IPv4 address (192.168.10.10)."""
    barriers: set[int] = set()
    for k in range(len(pieces) - 3):
        quad = pieces[k : k + 4]
        if all(p.sep_before == "." for p in quad[1:]) and all(
            p.digits.isdigit() and len(p.digits) <= 3 and int(p.digits) <= 255 for p in quad
        ):
            barriers.update(range(k, k + 4))
    return barriers


def _barriers(text: str, pieces: list[_Piece], chain_start: int, chain_end: int) -> set[int]:
    """Pieces that cannot be part of a phone: dates, IPs, amounts, labelled ids, glued tokens."""
    barriers = _date_barriers(pieces) | _block_barriers(pieces) | _ip_barriers(pieces)
    before = text[max(0, chain_start - _LOOKBACK) : chain_start]
    if _ID_LABEL_BEFORE_RE.search(before):
        # The labelled id runs until the first space ("order 112-7788990-1234567 ...").
        for k, piece in enumerate(pieces):
            if k and piece.sep_before.isspace():
                break
            barriers.add(k)
    if _CURRENCY_BEFORE_RE.search(before):
        barriers.add(0)
    last = len(pieces) - 1
    after = text[chain_end : chain_end + 2]
    glued = bool(after) and (after[0].isalnum() or after[0] in "_@")
    if glued or _DECIMAL_AFTER_RE.match(after) or _CURRENCY_AFTER_RE.match(text, chain_end):
        barriers.add(last)
    return barriers


def _thousands_shaped(lengths: list[int], seps: list[str]) -> bool:
    """1.234.567 is a number, not a phone."""
    return len(lengths) >= 3 and set(seps) == {"."} and lengths[0] <= 2 and set(lengths[1:]) == {3}


def _national_ok(pieces: list[_Piece], seps: list[str], labelled: bool) -> bool:
    """Shape rules for numbers without a country code; kept strict to spare ordinary numbers."""
    lengths = [len(p.digits) for p in pieces]
    if any(n < 2 for n in lengths[1:]) or not 7 <= sum(lengths) <= 12:
        return False
    if lengths == [3, 2, 4] and seps == ["-", "-"]:  # US SSN shape
        return False
    if _thousands_shaped(lengths, seps):
        return False
    trunk = pieces[0].text.startswith("(") or pieces[0].digits.startswith("0")
    if labelled or trunk:
        return len(pieces) > 1 or 10 <= lengths[0] <= 11 or labelled
    if len(pieces) == 1:
        return False
    if all(s in ("", " ", "\u00a0") for s in seps):
        return lengths in ([3, 3, 4], [1, 3, 3, 4])
    if len(pieces) == 2:
        return lengths == [3, 4]
    return True


def _phone_value(pieces: list[_Piece], plus: bool, labelled: bool) -> str | None:
    """The normalised number ("+442079460958" or "5551234567"), or None if not a phone."""
    seps = [p.sep_before for p in pieces[1:]]
    if "." in seps and any(s != "." for s in seps):
        return None
    digits = "".join(p.digits for p in pieces)
    if not digits.isdigit():
        return None
    international = plus or (digits.startswith("00") and len(pieces) > 1)
    if international:
        kept = [p.digits for k, p in enumerate(pieces) if not (k == 1 and p.text == "(0)")]
        number = "".join(kept)
        if number.startswith("00") and not plus:
            number = number[2:]
        return "+" + number if 8 <= len(number) <= 15 else None
    return digits if _national_ok(pieces, seps, labelled) else None


def find_phone_spans(text: str) -> list[Span]:
    """Phone numbers in international (+44 20 7946 0958) and national formats.

    Candidates are chains of digit groups; within a chain the longest valid run wins, so two
    numbers written side by side are both found and a date next to a number is not swallowed.
    """
    spans: list[Span] = []
    for chain in _PHONE_CHAIN_RE.finditer(text):
        start, end = chain.span()
        if end - start < 7 or sum(c.isdigit() for c in chain.group()) < 7:
            continue
        pieces = _pieces(text, start, end)
        plus = chain.group().startswith("+")
        if not (plus or _could_hold_phone(pieces)):
            continue
        barriers = _barriers(text, pieces, start, end)
        before = text[max(0, start - _LOOKBACK) : start]
        labelled = bool(_PHONE_LABEL_BEFORE_RE.search(before))
        spans.extend(_phones_in_chain(pieces, barriers, start, plus, labelled))
    return spans


def _could_hold_phone(pieces: list[_Piece]) -> bool:
    """Cheap pre-check: some run of groups (no one-digit group after its first) has 7+ digits.

    Skips the label and barrier work for chains like "1 2 3 4 5 6 7 8" or "(1)(2)(3)".
    """
    run = 0
    for k, piece in enumerate(pieces):
        size = len(piece.digits)
        run = size if (k == 0 or size < 2 or piece.digits.startswith("00")) else run + size
        if run >= 7:
            return True
    return False


def _phones_in_chain(
    pieces: list[_Piece], barriers: set[int], chain_start: int, plus: bool, labelled: bool
) -> list[Span]:
    totals = [0]
    for piece in pieces:
        totals.append(totals[-1] + len(piece.digits))
    spans: list[Span] = []
    i = 0
    while i < len(pieces):
        found = _phone_at(pieces, barriers, totals, i, plus and i == 0, labelled and i == 0)
        if found is None:
            i += 1
            continue
        j, value = found
        span_start = chain_start if (i == 0 and plus) else pieces[i].start
        spans.append(Span(span_start, pieces[j].end, value))
        i = j + 1
    return spans


def _phone_at(
    pieces: list[_Piece],
    barriers: set[int],
    totals: list[int],
    i: int,
    plus: bool,
    labelled: bool,
) -> tuple[int, str] | None:
    """The longest phone starting at piece i, as (last piece index, value)."""
    if i in barriers or (i and pieces[i].sep_before in _JOINERS):
        return None  # a phone does not start in the middle of 12-555-...
    international = plus or pieces[i].digits.startswith("00")
    last = i
    while last + 1 < len(pieces) and last + 1 - i < 8 and last + 1 not in barriers:
        if not international and len(pieces[last + 1].digits) < 2:
            break  # national numbers have no one-digit groups after the first
        last += 1
    for j in range(last, i - 1, -1):
        if not 7 <= totals[j + 1] - totals[i] <= 17:  # cheap test first
            continue
        if j + 1 < len(pieces) and pieces[j + 1].sep_before in _JOINERS:
            continue  # nor end in the middle of ...4567-89: that token is something else
        value = _phone_value(pieces[i : j + 1], plus, labelled)
        if value is not None:
            return j, value
    return None


# ---------------------------------------------------------------------------------------------
# Redaction
# ---------------------------------------------------------------------------------------------

# Order = tie-break priority when two detections cover the same span.
_DETECTORS: Final = (
    (IBAN, find_iban_spans),
    (CARD, find_card_spans),
    (SSN, find_ssn_spans),
    (EMAIL, find_email_spans),
    (PHONE, find_phone_spans),
)


# Every detector needs an ASCII digit or an "@": most strings (names, labels, prose) are
# cleared by one scan in C.
_MAY_HOLD: Final = re.compile(r"[0-9@]")


def _detected(text: str, keep_contacts: bool) -> list[tuple[int, int, str, str]]:
    """Non-overlapping (start, end, token, value) detections, leftmost-longest."""
    if not _MAY_HOLD.search(text):
        return []
    found: list[tuple[int, int, int, str, str]] = []
    for priority, (token, detect) in enumerate(_DETECTORS):
        if keep_contacts and token in (EMAIL, PHONE):
            continue
        found.extend((s.start, -(s.end - s.start), priority, token, s.value) for s in detect(text))
    found.sort()
    chosen: list[tuple[int, int, str, str]] = []
    position = 0
    for start, negative_length, _, token, value in found:
        if start < position:
            continue
        position = start - negative_length
        chosen.append((start, position, token, value))
    return chosen


def _replace(text: str, spans: list[tuple[int, int, str, str]], label: Any) -> str:
    parts: list[str] = []
    position = 0
    for start, end, token, value in spans:
        parts.append(text[position:start])
        parts.append(label(token, value))
        position = end
    parts.append(text[position:])
    return "".join(parts)


def redact(text: str) -> str:
    """The text with card numbers, IBANs, SSNs, emails and phone numbers replaced by bare
    placeholders: the strictest form, for log lines and anything sent to an LLM.

    Overlaps resolve leftmost-longest (an email containing digits stays one [EMAIL]).
    Idempotent: the placeholders contain nothing that is detected again.
    """
    if not text or not isinstance(text, str):
        return text
    spans = _detected(text, keep_contacts=False)
    return _replace(text, spans, lambda token, _value: token) if spans else text


# The labels `mask` writes (`_mask_label`) that keep part of the value.
_MASK_LABEL_RE: Final = re.compile(r"\[(CARD|EMAIL|PHONE) [^\[\]\n]{1,120}\]")


def redact_stored(text: str) -> str:
    """`redact` for text that may have been masked already (read back from storage).

    A mask label keeps the last digits or the first letter and the domain: fine on an agent's
    screen, too much for an LLM, so those labels become bare placeholders as well.
    """
    if not text or not isinstance(text, str):
        return text
    return _MASK_LABEL_RE.sub(lambda match: f"[{match.group(1)}]", redact(text))


def card_brand(digits: str) -> str:
    """The card network an issuer number belongs to (by its leading digits)."""
    two, four = int(digits[:2]), int(digits[:4])
    if digits[0] == "4":
        return "visa"
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return "mastercard"
    if two in (34, 37):
        return "amex"
    if digits.startswith(("6011", "65")) or 644 <= int(digits[:3]) <= 649:
        return "discover"
    if two == 35:
        return "jcb"
    if two in (36, 38) or 300 <= int(digits[:3]) <= 305:
        return "diners"
    return "card"


def _mask_label(token: str, value: str) -> str:
    if token == CARD:
        return f"[CARD {card_brand(value)} ending {value[-4:]}]"
    if token == EMAIL:
        local, _, domain = value.partition("@")
        return f"[EMAIL {local[:1]}***@{domain}]"
    if token == PHONE:
        return f"[PHONE ending {value[-4:]}]"
    return token


def mask(text: str, *, keep_contacts: bool = False) -> str:
    """The text as warmline stores and prints it: card numbers become their brand and last
    four digits ("[CARD visa ending 4242]"), emails keep their first letter and domain
    ("[EMAIL a***@example.com]"), phones their last four digits, IBANs and SSNs disappear.

    `keep_contacts` leaves emails and phone numbers as written (the deployment setting
    `WARMLINE_KEEP_CONTACT_DETAILS`); card numbers, IBANs and SSNs are masked regardless.
    Idempotent, like `redact`.
    """
    if not text or not isinstance(text, str):
        return text
    spans = _detected(text, keep_contacts)
    return _replace(text, spans, _mask_label) if spans else text


# Values under these keys are not free text and are never masked: times ("15:34:07.123456+01:00"
# has a phone-like run), identifiers and names of things (an agent id may be all digits), and
# binary payloads in base64 (the conversation tracker's quantised embeddings, where a changed
# character corrupts the vector). Everything people write lives under other keys.
STRUCTURAL_KEYS: Final = frozenset(
    {
        "vec",
        "ts",
        "client_ts",
        "id",
        "conversation_id",
        "customer_id",
        "message_id",
        "agent",
        "by",
        "author",
        "type",
        "policy",
        "intent",
        "action",
        "trigger",
        "mode",
        "route",
        "status",
        "kind",
        "target",
    }
)

# Entities in their JSON form ({"type", "value", ...}) carry normalised values ("4155550132")
# that no longer look like what they are; their type says it.
_ENTITY_TOKENS: Final = {"email": EMAIL, "phone": PHONE, "card": CARD}


def mask_value(obj: _T, *, keep_contacts: bool = False) -> _T:
    """`mask` applied to every string of a JSON-like value (keys too); see `redact_value`.
    An entity's value is masked by its declared type as well."""

    def clean(text: str) -> str:
        return mask(text, keep_contacts=keep_contacts)

    def entity(item: Mapping[Any, Any]) -> dict[Any, Any] | None:
        token = _ENTITY_TOKENS.get(item.get("type"))  # type: ignore[arg-type]
        value = item.get("value")
        if token is None or not isinstance(value, str) or (keep_contacts and token != CARD):
            return None
        return {**item, "value": _mask_label(token, _digits_or(value, token))}

    return cast(_T, _walk(obj, 0, clean, entity))


def _digits_or(value: str, token: str) -> str:
    """The form `_mask_label` expects: digits for cards and phones, the address for emails."""
    if token == EMAIL:
        return value.lower()
    return "".join(char for char in value if char.isdigit()) or "????"


def redact_value(obj: _T) -> _T:
    """A copy of a JSON-like value with every string (keys too) redacted.

    Walks dicts (any Mapping, returned as dict), lists, tuples and sets; other objects (numbers,
    None, custom classes) are returned unchanged, so convert them to plain data first. Nesting
    deeper than 64 levels (or a cycle) is replaced by "[REDACTED]" rather than risk a leak.
    """
    return cast(_T, _walk(obj, 0, redact))


def _walk(
    obj: object,
    depth: int,
    clean: Callable[[str], str],
    special: Callable[[Mapping[Any, Any]], dict[Any, Any] | None] | None = None,
) -> object:
    if isinstance(obj, str):
        return clean(obj)
    if not isinstance(obj, Mapping | list | tuple | set | frozenset):
        return obj
    if depth >= _MAX_DEPTH:
        return TOO_DEEP
    if isinstance(obj, list) and _numbers_only(obj):  # embeddings: nothing to mask
        return list(obj)
    if isinstance(obj, Mapping):
        handled = special(obj) if special is not None else None
        if handled is not None:
            obj = handled
        return {
            _walk(k, depth + 1, clean, special): (
                v if k in STRUCTURAL_KEYS else _walk(v, depth + 1, clean, special)
            )
            for k, v in obj.items()
        }
    items = [_walk(item, depth + 1, clean, special) for item in obj]
    if isinstance(obj, list):
        return items
    if isinstance(obj, tuple):
        if hasattr(obj, "_fields"):  # a NamedTuple takes its fields as arguments
            return cast(Any, type(obj))(*items)
        return tuple(items)
    return type(obj)(items)


def _numbers_only(items: list[Any]) -> bool:
    return bool(items) and all(type(item) in (int, float) for item in items)


class RedactingFilter(logging.Filter):
    """Redacts every record that passes through: message, arguments, traceback, stack.

    The message is formatted eagerly (msg % args) and the args dropped, because an argument's
    str() can carry personal data that redacting the arguments one by one would miss. Attach
    it to handlers: filters on a logger do not see records propagated from child loggers.
    The record is changed in place, so every handler after this one sees the redacted text.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not cost the log line
            message = f"{record.msg} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
