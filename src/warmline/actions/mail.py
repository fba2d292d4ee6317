"""Sending email for actions (password reset links, confirmations).

`SmtpMailer` hands messages to a real SMTP server through the standard library (`smtplib`,
`email.message`), so no SMTP is written by hand. `OutboxMailer` writes each message to a
directory as an `.eml` file instead, like Django's file email backend, so a development setup
works without a mail server and a demo or a test can read what would have been sent.
`mailer_from_url` picks one from a setting such as `WARMLINE_SMTP_URL`.
"""

from __future__ import annotations

import itertools
import os
import smtplib
import ssl
import threading
import time
import uuid
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

SMTP_SCHEMES = {"smtp": (25, False), "smtp+starttls": (587, True)}


class MailError(Exception):
    """A message that could not be sent. The text names the server, never a password or the
    message's content."""


class Mailer(Protocol):
    """Sends one plain-text email. Raises `MailError` when it cannot."""

    def send(self, to: str, subject: str, body: str) -> None: ...


def compose(*, sender: str, to: str, subject: str, body: str) -> EmailMessage:
    """The message as it goes out. Header values with line breaks are refused here (the email
    package raises), so a subject built from user input cannot inject headers."""
    message = EmailMessage()
    try:
        message["From"] = sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(usegmt=True)
        # An explicit domain: `make_msgid()` alone asks DNS for this host's name.
        message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    except (ValueError, IndexError) as exc:
        raise MailError(f"the message has an invalid header: {exc}") from exc
    # Plain ASCII stays 7bit, so a link reads whole in the raw message (quoted-printable
    # would fold it); other text is quoted-printable, which every server accepts.
    plain = body.isascii() and all(len(line) <= 998 for line in body.splitlines())
    message.set_content(body, cte="7bit" if plain else "quoted-printable")
    return message


class SmtpMailer:
    """Sends through an SMTP server, one connection per message (messages are rare: a fresh
    connection never meets a server that dropped an idle one)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 10.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self._password = password
        self.starttls = starttls
        self.timeout = timeout
        # The system's trusted CAs and hostname checks unless given another (a private CA).
        self.tls_context = tls_context

    def __repr__(self) -> str:
        return f"SmtpMailer(host={self.host!r}, port={self.port}, starttls={self.starttls})"

    def send(self, to: str, subject: str, body: str) -> None:
        """Deliver the message to the server, or raise `MailError`."""
        self.send_message(compose(sender=self.sender, to=to, subject=subject, body=body))

    def send_message(self, message: EmailMessage) -> None:
        """Deliver a message built by the caller (its headers name the recipients), or raise
        `MailError`."""
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=self.tls_context or ssl.create_default_context())
                if self.username is not None:
                    smtp.login(self.username, self._password or "")
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:  # ssl.SSLError is an OSError
            raise MailError(
                f"the mail server {self.host}:{self.port} refused or failed: {type(exc).__name__}"
            ) from exc


class OutboxMailer:
    """Writes every message to `directory` as `<time>-<n>-<random>.eml`. A file appears whole
    (written aside, then renamed), so a reader never sees half a message."""

    _counter = itertools.count()
    _counter_lock = threading.Lock()

    def __init__(self, directory: Path, sender: str) -> None:
        self.directory = Path(directory)
        self.sender = sender

    def __repr__(self) -> str:
        return f"OutboxMailer(directory={str(self.directory)!r})"

    def send(self, to: str, subject: str, body: str) -> None:
        """Write the message as an `.eml` file, or raise `MailError`."""
        self.send_message(compose(sender=self.sender, to=to, subject=subject, body=body))

    def send_message(self, message: EmailMessage) -> None:
        """Write a message built by the caller as an `.eml` file, or raise `MailError`."""
        with self._counter_lock:
            n = next(self._counter)
        name = f"{time.time_ns():020d}-{n:08d}-{uuid.uuid4().hex[:8]}"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            partial = self.directory / f".{name}.tmp"
            partial.write_bytes(message.as_bytes())
            os.replace(partial, self.directory / f"{name}.eml")
        except OSError as exc:
            raise MailError(f"could not write to the outbox: {type(exc).__name__}") from exc

    def messages(self) -> list[EmailMessage]:
        """The messages written so far, oldest first (newest last)."""
        if not self.directory.is_dir():
            return []
        parser = BytesParser(policy=default_policy)
        found: list[EmailMessage] = []
        for path in sorted(self.directory.glob("*.eml")):
            with path.open("rb") as handle:
                parsed = parser.parse(handle)
            assert isinstance(parsed, EmailMessage)  # the `default` policy makes EmailMessages
            found.append(parsed)
        return found


def mailer_from_url(
    url: str | None, *, sender: str, outbox: Path, password: str | None = None
) -> SmtpMailer | OutboxMailer:
    """`smtp://[user[:password]@]host[:port]` (port 25) or `smtp+starttls://...` (port 587)
    gives an `SmtpMailer`; None or an empty string gives an `OutboxMailer` writing to `outbox`.
    `password` is used when the URL carries none, so it can come from its own environment
    variable. A malformed URL raises ValueError saying what is wrong (never echoing a password).
    """
    if url is None or not url.strip():
        return OutboxMailer(outbox, sender)
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in SMTP_SCHEMES:
        raise ValueError(
            f"mail URL scheme must be one of {', '.join(sorted(SMTP_SCHEMES))}, "
            f"not {scheme or 'nothing'!r}"
        )
    default_port, starttls = SMTP_SCHEMES[scheme]
    if not parts.hostname:
        raise ValueError("mail URL has no host (expected smtp://host:port)")
    try:
        port = parts.port if parts.port is not None else default_port
    except ValueError as exc:
        raise ValueError("mail URL port must be a number from 1 to 65535") from exc
    if port == 0:
        raise ValueError("mail URL port must be a number from 1 to 65535")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("mail URL must not have a path, query or fragment")
    username = unquote(parts.username) if parts.username else None
    url_password = unquote(parts.password) if parts.password is not None else None
    if url_password is not None and username is None:
        raise ValueError("mail URL has a password but no user name")
    return SmtpMailer(
        parts.hostname,
        port,
        sender=sender,
        username=username,
        password=url_password if url_password is not None else password,
        starttls=starttls,
        timeout=10.0,
    )
