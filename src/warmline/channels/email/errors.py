"""What can happen to an inbound email besides being taken in (raised by `inbound.py`, turned
into SMTP replies by `smtp.py` and into IMAP flags by `imap.py`)."""

from __future__ import annotations


class TryLater(Exception):
    """The email could not be stored now; its sender should deliver it again later."""


class Unreadable(Exception):
    """The email has no sender that could be answered; it is refused."""
