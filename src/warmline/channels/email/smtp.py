"""The SMTP listener: the mail server (or its forwarding rule) hands inbound emails to warmline
over SMTP, on `WARMLINE_EMAIL_INBOUND_HOST:WARMLINE_EMAIL_INBOUND_PORT` (aiosmtpd, in a thread
of its own with its own event loop).

Each email is answered with the SMTP reply its fate calls for, so that nothing is lost
silently: 250 once it is stored (or deliberately ignored, or its sender told why it was
refused); 451 when it could not be stored now, and the sending server retries later; 550 when
it has no sender to answer; 552 (aiosmtpd) when it is larger than
`WARMLINE_EMAIL_MAX_MESSAGE_BYTES`, and the sending server tells its user. Beyond
`WARMLINE_EMAIL_MAX_RECIPIENTS` recipients in one envelope, 452 (RFC 5321: the sender sends
the rest in another transaction). It relays nothing: every email is for warmline.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiosmtpd.controller import Controller

from warmline.channels.email.errors import TryLater, Unreadable
from warmline.channels.email.inbound import EmailReceiver

log = logging.getLogger(__name__)


class InboundHandler:
    """aiosmtpd's handler: each email goes to the receiver in a worker thread (the engine
    blocks), and its fate decides the SMTP reply."""

    def __init__(
        self, receiver: EmailReceiver, *, max_recipients: int, executor: ThreadPoolExecutor
    ) -> None:
        self.receiver = receiver
        self.max_recipients = max_recipients
        self.executor = executor

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        """Accept recipients up to the limit; beyond it, 452 (try the rest later)."""
        if len(envelope.rcpt_tos) >= self.max_recipients:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Take the email in; the reply says whether the sender may forget it."""
        raw = envelope.original_content or b""
        receive = functools.partial(
            self.receiver.receive, bytes(raw), envelope_sender=envelope.mail_from or ""
        )
        try:
            receipt = await asyncio.get_running_loop().run_in_executor(self.executor, receive)
        except Unreadable as error:
            return f"550 5.6.0 {error}"
        except TryLater:
            log.warning("an inbound email could not be stored now; the sender will retry")
            return "451 4.3.0 Temporarily unable to take the message, try again later"
        except Exception:
            log.exception("an inbound email failed; the sender will retry")
            return "451 4.3.0 Temporarily unable to take the message, try again later"
        return f"250 2.0.0 Message {receipt.status}"


class SmtpListener:
    """The listener's thread and its handler."""

    def __init__(
        self,
        receiver: EmailReceiver,
        *,
        host: str,
        port: int,
        max_message_bytes: int,
        max_recipients: int,
        threads: int,
        server_name: str = "warmline",
    ) -> None:
        self.host = host
        self.port = port
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="email-in")
        handler = InboundHandler(receiver, max_recipients=max_recipients, executor=self._executor)
        # aiosmtpd logs every command with its addresses at INFO; warmline's log says what
        # happened to each email instead.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self._controller = Controller(
            handler,
            hostname=host,
            port=port,
            server_hostname=server_name,  # else a DNS lookup of this machine's name
            ident="warmline",
            data_size_limit=max_message_bytes,
            enable_SMTPUTF8=True,
            timeout=300,
        )

    def start(self) -> None:
        """Listen (raises OSError when the address is taken)."""
        self._controller.start()
        log.info("email: SMTP listener on %s:%d", self.host, self.port)

    def stop(self) -> None:
        """Stop listening; emails being taken in finish first."""
        self._controller.stop()
        self._executor.shutdown(wait=True)
