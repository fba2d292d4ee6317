"""Slot values from customer words, by the slot's type, and their validation.

Each reader returns the normalised value the connector receives (ISO dates, 24-hour times,
decimal amounts, digits-only numbers) or None. Relative dates ("next Tuesday", "tomorrow") are
resolved against the day the message arrived, so a stored value never changes meaning.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from rapidfuzz import fuzz

from warmline.actions.spec import SlotSpec
from warmline.redaction import find_email_spans, find_phone_spans

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
_WEEKDAY = (
    r"(?P<weekday>mon(?:day)?|tue(?:s|sday)?|wed(?:nesday)?|thu(?:rs|rsday)?|fri(?:day)?"
    r"|sat(?:urday)?|sun(?:day)?)"
)
_WEEKDAY_RE = re.compile(rf"\b(?:(?P<which>this|next|coming|on)\s+)?{_WEEKDAY}\b", re.I)
_MONTH = (
    r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_DAY_MONTH_RE = re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}\b\.?(?:\s+(?P<year>20\d\d))?", re.I)
_MONTH_DAY_RE = re.compile(rf"\b{_MONTH}\.?\s+{_DAY}\b(?:,?\s+(?P<year>20\d\d))?", re.I)
_ISO_RE = re.compile(r"\b(?P<year>20\d\d)-(?P<m>\d\d?)-(?P<d>\d\d?)\b")
_ORDINAL_RE = re.compile(r"\bthe\s+(?P<day>[0-3]?\d)(?:st|nd|rd|th)\b", re.I)
_RELATIVE = {
    "day after tomorrow": 2,
    "day before yesterday": -2,
    "today": 0,
    "tonight": 0,
    "tomorrow": 1,
    "tmrw": 1,
    "tmr": 1,
    "yesterday": -1,
}
_RELATIVE_RE = re.compile(
    r"\b(day after tomorrow|day before yesterday|today|tonight|tomorrow|tmrw|tmr|yesterday)\b",
    re.I,
)
_AGO_RE = re.compile(r"\b(?P<n>\d{1,2}|a|one|two|three)\s+(?P<unit>days?|weeks?)\s+ago\b", re.I)
_IN_DAYS_RE = re.compile(r"\bin\s+(?P<n>\d{1,2}|a|one|two|three)\s+(?P<unit>days?|weeks?)\b", re.I)
_SMALL = {"a": 1, "one": 1, "two": 2, "three": 3}

_TIME_RE = re.compile(
    r"\b(?P<h>[01]?\d|2[0-3])(?:[:.](?P<m>[0-5]\d))?\s*(?P<ampm>a\.?m\.?|p\.?m\.?)(?![a-z])"
    r"|\b(?P<h24>[01]?\d|2[0-3])[:.h](?P<m24>[0-5]\d)\b"
    r"|\b(?:at|around|about|for|by|maybe|say)\s+(?P<hbare>[1-9]|1[0-2])(?:\s*o'?clock)?\b(?![:.]?\d|\s*(?:days?|weeks?|items?|orders?|%))",
    re.I,
)
_NAMED_TIMES = {"noon": "12:00", "midday": "12:00", "lunchtime": "12:00"}
_NAMED_TIME_RE = re.compile(r"\b(noon|midday|lunchtime)\b", re.I)
PARTS_OF_DAY = {"morning": (0, 12), "afternoon": (12, 17), "evening": (17, 24)}
_PART_RE = re.compile(r"\b(morning|afternoon|evening)\b", re.I)
_NUMBER_RE = re.compile(r"(?<![\w.])-?\d+(?:[.,]\d+)?(?![\w])")
_MAJOR_UNIT = r"(?:eur|euros?|usd|dollars?|gbp|pounds?|bucks|quid)"
# "4 pounds 50", "4 euros and 50 cents": whole units and then hundredths.
_UNITS_AND_CENTS_RE = re.compile(
    rf"(?<![\w.,])(?P<major>\d{{1,7}})\s?{_MAJOR_UNIT}\s+(?:and\s+)?(?P<minor>\d{{1,2}})"
    r"(?:\s?(?:p|pence|cents?)\b|(?![\w.,]))",
    re.I,
)
_MONEY_RE = re.compile(
    r"(?P<cur>[$€£]|\b(?:usd|eur|gbp)\s?)\s?(?P<a>\d{1,7}(?:[.,]\d{1,2})?)"
    rf"|(?P<b>\d{{1,7}}(?:[.,]\d{{1,2}})?)\s?{_MAJOR_UNIT}\b",
    re.I,
)
# A bare amount with cents ("the 4.50 charge", "it was 4.50."), not part of a longer number.
_CENTS_RE = re.compile(r"(?<![\w.,])(?P<a>\d{1,7}[.,]\d\d)(?!\w|[.,]\d|\s?%)(?P<b>)")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")  # "1,234.50"
_JOINED_DIGITS = re.compile(r"(?<=\d)[ -](?=\d)")


@dataclass(frozen=True)
class Problem:
    """Why a value the customer gave cannot be used, in words for the customer."""

    slot: str
    value: str
    message: str


def read_value(slot: SlotSpec, text: str, today: dt.date, *, asked: bool) -> str | None:
    """The slot's value in `text`, normalised, or None. `asked` says the bot just asked for
    this slot, so a bare answer ("Tuesday", "the second one", a whole sentence for a text
    slot) counts."""
    match slot.type:
        case "date":
            return read_date(text, today, past=slot.past)
        case "time":
            return read_time(text)
        case "email":
            spans = find_email_spans(text)
            return spans[0].value.lower() if spans else None
        case "phone":
            phones = find_phone_spans(text)
            return (
                "".join(c for c in phones[0].value if c.isdigit() or c == "+") if phones else None
            )
        case "money":
            return read_money(text, bare=asked)
        case "number":
            found = _NUMBER_RE.search(text)
            return found.group().replace(",", ".") if found and asked else None
        case "enum":
            return read_enum(slot, text)
        case "pattern":
            return read_pattern(slot, text)
        case _:
            stripped = text.strip()
            return stripped[:500] if asked and stripped else None


def read_date(text: str, today: dt.date, *, past: bool = False) -> str | None:
    """An ISO date from absolute or relative words. A day named without a year ("the 5th",
    "Friday", "3 December") is the next such day, or with `past` the latest one that has come
    (when the customer tells of something that happened, such as a charge)."""
    lowered = text.lower()
    relative = _RELATIVE_RE.search(lowered)
    if relative:
        return (today + dt.timedelta(days=_RELATIVE[relative.group(1)])).isoformat()
    found = _ISO_RE.search(text)
    if found:
        return _safe_date(int(found["year"]), int(found["m"]), int(found["d"]))
    for pattern in (_DAY_MONTH_RE, _MONTH_DAY_RE):
        found = pattern.search(text)
        if found:
            return _month_day(found, today, past=past)
    found = _chosen_weekday(lowered)
    if found:
        wanted = next(i for i, name in enumerate(WEEKDAYS) if name.startswith(found["weekday"][:3]))
        if past or re.search(rf"\blast\s+{found['weekday']}", lowered):
            return (today - dt.timedelta(days=(today.weekday() - wanted) % 7)).isoformat()
        ahead = (wanted - today.weekday()) % 7 or 7
        if _next_means_following(lowered):  # that day in the calendar week after this one
            ahead = 7 - today.weekday() + wanted
        return (today + dt.timedelta(days=ahead)).isoformat()
    for pattern, sign in ((_AGO_RE, -1), (_IN_DAYS_RE, 1)):
        found = pattern.search(lowered)
        if found:
            count = _SMALL.get(found["n"]) or int(found["n"])
            days = count * (7 if found["unit"].startswith("week") else 1)
            return (today + dt.timedelta(days=sign * days)).isoformat()
    found = _ORDINAL_RE.search(lowered)
    return _day_of_month(int(found["day"]), today, past=past) if found else None


def _day_of_month(day: int, today: dt.date, *, past: bool) -> str | None:
    """ "The 5th": this month's or one of the next two (the last three with `past`)."""
    step = -1 if past else 1
    for months in range(0, 3):
        shift = today.month - 1 + step * months
        iso = _safe_date(today.year + shift // 12, shift % 12 + 1, day)
        if iso and (iso <= today.isoformat() if past else iso >= today.isoformat()):
            return iso
    return None


def _chosen_weekday(lowered: str) -> re.Match[str] | None:
    """The weekday the customer settles on: "not Tuesday - Thursday" is Thursday."""
    found = list(_WEEKDAY_RE.finditer(lowered))
    kept = [m for m in found if not re.search(r"\b(not|no|instead of)\s*$", lowered[: m.start()])]
    return (kept or found)[-1] if found else None


def _next_means_following(lowered: str) -> bool:
    """ "Next Tuesday" is the coming one in most customers' usage; "next week Tuesday" or
    "Tuesday next week" is the one after this week."""
    return "next week" in lowered


def _month_day(found: re.Match[str], today: dt.date, *, past: bool = False) -> str | None:
    month = next(
        i for i, name in enumerate(MONTHS, 1) if name.startswith(found["month"][:3].lower())
    )
    day = int(found["day"])
    if found["year"]:
        return _safe_date(int(found["year"]), month, day)
    iso = _safe_date(today.year, month, day)
    if past:
        if iso is not None and iso > today.isoformat():
            iso = _safe_date(today.year - 1, month, day)  # "December 20" said in January
        return iso
    if iso is not None and iso < (today - dt.timedelta(days=31)).isoformat():
        iso = _safe_date(today.year + 1, month, day)  # "January 5" in December is next year's
    return iso


def _safe_date(year: int, month: int, day: int) -> str | None:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def read_time(text: str) -> str | None:
    """A 24-hour `HH:MM` time; a bare hour ("at 4") is read within opening hours (1-7 pm)."""
    found = _TIME_RE.search(text)
    if found:
        if found["h"] is not None:
            hour, minute = int(found["h"]), int(found["m"] or 0)
            pm = found["ampm"].lower().startswith("p")
            if hour > 12:
                return None
            hour = (hour % 12) + (12 if pm else 0)
        elif found["h24"] is not None:
            hour, minute = int(found["h24"]), int(found["m24"])
        else:
            hour, minute = int(found["hbare"]), 0
            if 1 <= hour <= 7:
                hour += 12
        return f"{hour:02d}:{minute:02d}"
    named = _NAMED_TIME_RE.search(text)
    return _NAMED_TIMES[named.group(1).lower()] if named else None


def within_part_of_day(times: list[str], part: str | None) -> list[str]:
    """The times (as a backend lists them, "09:00" or "9:00 am") in the part of the day the
    customer named; all of them when none fit, no part was named, or a time cannot be read."""
    if part not in PARTS_OF_DAY:
        return times
    start, end = PARTS_OF_DAY[part]
    fitting = []
    for listed in times:
        read = read_time(listed) or (listed if re.fullmatch(r"\d{1,2}:\d{2}", listed) else None)
        if read is not None and start <= int(read.split(":")[0]) < end:
            fitting.append(listed)
    return fitting or times


def part_of_day(text: str) -> str | None:
    """ "morning", "afternoon" or "evening" when the customer names one (narrows the offer)."""
    found = _PART_RE.search(text)
    return found.group(1).lower() if found else None


def read_money(text: str, *, bare: bool) -> str | None:
    """A decimal amount ("$12.99", "12,99 euros"); a bare number only when it was asked for."""
    text = _THOUSANDS.sub("", text)
    units = _UNITS_AND_CENTS_RE.search(text)
    if units:
        return f"{int(units['major'])}.{int(units['minor']):02d}"
    found = _MONEY_RE.search(text) or _CENTS_RE.search(text)
    raw = (found["a"] or found["b"]) if found else None
    if raw is None and bare:
        number = _NUMBER_RE.search(text)
        raw = number.group() if number else None
    if raw is None:
        return None
    try:
        return str(Decimal(raw.replace(",", ".")).quantize(Decimal("0.01")))
    except InvalidOperation:
        return None


def read_enum(slot: SlotSpec, text: str) -> str | None:
    """The allowed value whose name or phrases the customer used (typos forgiven)."""
    lowered = " ".join(re.sub(r"[’`]", "'", text.lower()).split())
    best: tuple[float, int, str] | None = None
    for value in slot.values:
        phrases = [value.replace("_", " "), *slot.synonyms.get(value, [])]
        for phrase in phrases:
            phrase = phrase.lower()
            if re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", lowered):
                score = 100.0
            elif len(phrase) >= 6 and len(lowered) >= len(phrase):
                score = fuzz.partial_ratio(phrase, lowered)
                if score < 90:
                    continue
            else:
                continue
            candidate = (score, len(phrase), value)
            if best is None or candidate > best:
                best = candidate
    return best[2] if best else None


def read_pattern(slot: SlotSpec, text: str) -> str | None:
    """A value matching the slot's pattern as a whole token ("#12345" -> "12345"); digits
    written in groups ("8944 1100 ...") are read joined. A token of letters alone is never an
    identifier (a pattern such as [A-Z0-9]{8,14} would otherwise take "WARRANTY")."""
    assert slot.pattern is not None
    pattern = re.compile(rf"(?<![A-Za-z0-9])(?:{slot.pattern})(?![A-Za-z0-9])", re.I)
    for candidate_text in (text, _JOINED_DIGITS.sub("", text)):
        for found in pattern.finditer(candidate_text):
            value = found.group()
            if any(char.isdigit() for char in value):
                return value.upper()
    return None


def validate(slot: SlotSpec, value: str, today: dt.date) -> Problem | None:
    """Why `value` cannot be used for `slot`, or None when it can."""
    if slot.type == "date" and slot.not_past and value < today.isoformat():
        return Problem(slot.name, value, f"{_human_date(value)} has already passed")
    if slot.type == "enum" and value not in slot.values:
        allowed = ", ".join(v.replace("_", " ") for v in slot.values)
        return Problem(slot.name, value, f"it must be one of: {allowed}")
    if slot.type == "pattern" and slot.pattern and not re.fullmatch(slot.pattern, value, re.I):
        return Problem(slot.name, value, f"{value} does not look like a {slot.description}")
    return None


def _human_date(iso: str) -> str:
    day = dt.date.fromisoformat(iso)
    said = f"{WEEKDAYS[day.weekday()].capitalize()} {day.day} {MONTHS[day.month - 1].capitalize()}"
    return said if day.year == dt.datetime.now(dt.UTC).year else f"{said} {day.year}"


def human_date(iso: str) -> str:
    """ "2026-12-01" -> "Tuesday 1 December", how the bot says a date back."""
    try:
        return _human_date(iso)
    except ValueError:
        return iso
