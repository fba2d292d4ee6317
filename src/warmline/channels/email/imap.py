"""IMAP polling, for a mailbox that cannot forward to the SMTP listener.

`WARMLINE_IMAP_URL` names the mailbox (`imaps://user@host[:993]/INBOX`; also
`imap+starttls://` on port 143, and plain `imap://` to this machine only), the password comes
from `WARMLINE_IMAP_PASSWORD`. Every `WARMLINE_IMAP_POLL_SECONDS` the poller (imapclient) logs
in, takes each unread message in turn and marks it read (`\\Seen`) once it has been taken in,
ignored or refused; one that could not be stored now stays unread and is taken next time
(a message that keeps failing is marked read and flagged after `MAX_FAILURES` polls, so one
broken message cannot stop the mailbox). A message larger than
`WARMLINE_EMAIL_MAX_MESSAGE_BYTES` is not downloaded: its sender is told it was too large.
Run it in one process per mailbox: `warmline serve` does, even with several workers.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlsplit

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from warmline.channels.email.errors import TryLater, Unreadable

if TYPE_CHECKING:
    from warmline.channels.email.inbound import EmailReceiver

log = logging.getLogger(__name__)
SCHEMES: dict[str, tuple[int, Literal["tls", "starttls", "plain"]]] = {
    "imaps": (993, "tls"),
    "imap+starttls": (143, "starttls"),
    "imap": (143, "plain"),
}
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
MAX_FAILURES = 5
BATCH = 20
SEEN = b"\\Seen"
FLAGGED = b"\\Flagged"


@dataclass(frozen=True)
class ImapAddress:
    """Where the mailbox is, from `WARMLINE_IMAP_URL`."""

    host: str
    port: int
    security: Literal["tls", "starttls", "plain"]
    username: str
    mailbox: str


def parse_imap_url(url: str) -> ImapAddress:
    """`imaps://user@host[:port]/MAILBOX` (port 993), `imap+starttls://...` (143), or
    `imap://...` (143, in clear: this machine only). The mailbox defaults to INBOX. A URL that
    cannot be used raises ValueError saying why (never echoing a password)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ValueError(
            f"IMAP URL scheme must be one of {', '.join(sorted(SCHEMES))}, "
            f"not {scheme or 'nothing'!r}"
        )
    default_port, security = SCHEMES[scheme]
    if not parts.hostname:
        raise ValueError("IMAP URL has no host (expected imaps://user@host/INBOX)")
    if not parts.username:
        raise ValueError("IMAP URL has no user name (expected imaps://user@host/INBOX)")
    if parts.password is not None:
        raise ValueError("IMAP URL must not carry the password: set WARMLINE_IMAP_PASSWORD")
    try:
        port = parts.port if parts.port is not None else default_port
    except ValueError as exc:
        raise ValueError("IMAP URL port must be a number from 1 to 65535") from exc
    if port == 0:
        raise ValueError("IMAP URL port must be a number from 1 to 65535")
    if security == "plain" and parts.hostname not in LOOPBACK:
        raise ValueError(
            "imap:// sends the password in clear: use imaps:// or imap+starttls:// to "
            "another machine (imap:// is for this machine only)"
        )
    if parts.query or parts.fragment:
        raise ValueError("IMAP URL must not have a query or fragment")
    mailbox = unquote(parts.path.lstrip("/")) or "INBOX"
    return ImapAddress(parts.hostname, port, security, unquote(parts.username), mailbox)


class ImapPoller:
    """Polls one mailbox in a thread of its own."""

    def __init__(
        self,
        receiver: EmailReceiver,
        address: ImapAddress,
        *,
        password: str,
        interval: float,
        max_message_bytes: int,
        tls_context: ssl.SSLContext | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.receiver = receiver
        self.address = address
        self._password = password
        self.interval = interval
        self.max_message_bytes = max_message_bytes
        # The system's trusted CAs and hostname checks unless given another.
        self.tls_context = tls_context
        self.timeout = timeout
        self._failures: Counter[tuple[int, int]] = Counter()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        a = self.address
        return f"ImapPoller(host={a.host!r}, port={a.port}, mailbox={a.mailbox!r})"

    def start(self) -> None:
        """Poll now and then every `interval` seconds until stopped."""
        self._thread = threading.Thread(target=self._run, name="email-imap", daemon=True)
        self._thread.start()
        log.info("email: polling IMAP %s:%d", self.address.host, self.address.port)

    def stop(self) -> None:
        """Stop after the message being taken in."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timeout + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except (IMAPClientError, OSError) as error:  # ssl.SSLError is an OSError
                log.warning(
                    "IMAP %s:%d failed: %s (next try in %.0f s)",
                    self.address.host,
                    self.address.port,
                    type(error).__name__,
                    self.interval,
                )
            except Exception:
                log.exception("IMAP polling failed (next try in %.0f s)", self.interval)
            self._stop.wait(self.interval)

    def poll_once(self) -> int:
        """Take in the unread messages once; returns how many were marked read."""
        a = self.address
        context = self.tls_context or ssl.create_default_context()
        done = 0
        with IMAPClient(
            a.host,
            port=a.port,
            ssl=a.security == "tls",
            ssl_context=context,
            timeout=self.timeout,
        ) as client:
            if a.security == "starttls":
                client.starttls(context)
            client.login(a.username, self._password)
            selected = client.select_folder(a.mailbox)
            validity = int(selected.get(b"UIDVALIDITY", 0))
            uids = sorted(client.search(["UNSEEN", "UNDELETED"]))
            for start in range(0, len(uids), BATCH):
                if self._stop.is_set():
                    break
                batch = uids[start : start + BATCH]
                sizes = client.fetch(batch, ["RFC822.SIZE"])
                for uid in batch:
                    size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
                    if self._take(client, uid, size, validity):
                        done += 1
        return done

    def _take(self, client: IMAPClient, uid: int, size: int, validity: int) -> bool:
        """Take one message in; True when it is marked read."""
        try:
            if size > self.max_message_bytes:
                header = _part(client.fetch([uid], ["BODY.PEEK[HEADER]"]), uid, b"BODY[HEADER]")
                self.receiver.refuse_too_large(header, size, self.max_message_bytes)
            else:
                raw = _part(client.fetch([uid], ["BODY.PEEK[]"]), uid, b"BODY[]")
                self.receiver.receive(raw, envelope_sender=None)
        except Unreadable as error:
            log.warning("IMAP message %d refused: %s", uid, error)
        except TryLater:
            return self._failed(client, uid, validity, "could not be stored now")
        except (IMAPClientError, OSError):
            raise  # the connection: the whole poll stops and starts again next time
        except Exception:
            log.exception("IMAP message %d failed", uid)
            return self._failed(client, uid, validity, "failed")
        client.add_flags([uid], [SEEN])
        self._failures.pop((validity, uid), None)
        return True

    def _failed(self, client: IMAPClient, uid: int, validity: int, why: str) -> bool:
        key = (validity, uid)
        self._failures[key] += 1
        if self._failures[key] < MAX_FAILURES:
            log.warning("IMAP message %d %s; it stays unread for the next poll", uid, why)
            return False
        log.error(
            "IMAP message %d %s %d times: marked read and flagged for a person to look at",
            uid,
            why,
            MAX_FAILURES,
        )
        client.add_flags([uid], [SEEN, FLAGGED])
        self._failures.pop(key, None)
        return True


def _part(fetched: dict[Any, Any], uid: int, name: bytes) -> bytes:
    data = fetched.get(uid, {}).get(name)
    if not isinstance(data, bytes):
        raise TryLater(f"the server returned no {name.decode()} for message {uid}")
    return data
