"""Proving who the customer is before account data is shown: a six-digit code sent to the
email on file. Only a keyed hash of the code is stored (in the conversation's events), so
neither the events nor an agent's screen reveal it."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=10)
MAX_TRIES = 3
_CODE_RE = re.compile(r"(?<!\d)(\d{3})[ -]?(\d{3})(?!\d)")
_RESEND_RE = re.compile(
    r"\b(resend|send (it|one)? ?again|new code|another code|did(n'?t| not) (get|receive|arrive)|"
    r"no code|never (got|came|arrived)|not (received|arrived)|"
    r"(has|have)n'?t (received|got|arrived)|nothing (has )?(arrived|came|come))\b",
    re.I,
)


_LETTERS = str.maketrans("0123456789abcdef", "ghijklmnopabcdef")


def new_code() -> str:
    """A random six-digit code."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(code: str, *, secret: str, salt: str) -> str:
    """The keyed hash stored instead of the code (`salt`: the conversation, so a hash from one
    conversation is useless in another)."""
    message = f"{salt}:{code}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    # Letters only: stored events are masked, and a run of hex digits can look like a phone.
    return "h:" + digest.translate(_LETTERS)


def matches(code: str, stored: str, *, secret: str, salt: str) -> bool:
    """Whether `code` is the one whose hash was stored (compared in constant time)."""
    return hmac.compare_digest(code_hash(code, secret=secret, salt=salt), stored)


def code_in(text: str) -> str | None:
    """A six-digit code in the customer's message ("123 456" too)."""
    found = _CODE_RE.search(text)
    return found.group(1) + found.group(2) if found else None


def without_code(text: str) -> str:
    """The message with the code taken out (what else it says still counts)."""
    return _CODE_RE.sub(" ", text, count=1)


def wants_resend(text: str) -> bool:
    """The customer says the code did not come."""
    return bool(_RESEND_RE.search(text))


def expires(now: datetime) -> float:
    """When a code sent now stops working (seconds since the epoch: a number, which masking
    of stored events leaves alone)."""
    return (now + CODE_LIFETIME).timestamp()


def expired(expires_at: float, now: datetime) -> bool:
    """True once a code can no longer be used."""
    return now.timestamp() >= expires_at
