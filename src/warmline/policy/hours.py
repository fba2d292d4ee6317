"""Business hours: is the team open at a given moment, and when does it open next."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from warmline.policy.config import DAYS, AvailabilityConfig

_END_OF_DAY = time(23, 59, 59, 999_999)


def _close(value: str) -> time:
    return _END_OF_DAY if value == "24:00" else time.fromisoformat(value)


def _closed_on(config: AvailabilityConfig, day: date) -> bool:
    return day.isoformat() in config.closed_dates


def is_open(config: AvailabilityConfig, at: datetime) -> bool:
    """True when `at` falls inside the opening hours (an empty `hours` list means always)."""
    if not config.hours:
        return True
    local = at.astimezone(ZoneInfo(config.timezone))
    if _closed_on(config, local.date()):
        return False
    day = DAYS[local.weekday()]
    now = local.time()
    return any(
        day in slot.days and time.fromisoformat(slot.open) <= now <= _close(slot.close)
        for slot in config.hours
    )


def next_opening(config: AvailabilityConfig, at: datetime) -> datetime | None:
    """The next moment the team opens after `at` (None when always open or never)."""
    if not config.hours or is_open(config, at):
        return None
    zone = ZoneInfo(config.timezone)
    local = at.astimezone(zone)
    for offset in range(0, 15):
        day = local.date() + timedelta(days=offset)
        if _closed_on(config, day):
            continue
        opens = sorted(
            time.fromisoformat(slot.open)
            for slot in config.hours
            if DAYS[day.weekday()] in slot.days
        )
        for opening in opens:
            candidate = datetime.combine(day, opening, tzinfo=zone)
            if candidate > local:
                return candidate
    return None
