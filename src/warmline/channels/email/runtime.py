"""Starting and stopping the email channel from the settings (`warmline serve` calls it)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from warmline.api.services import Services
from warmline.channels.email.imap import ImapPoller, parse_imap_url
from warmline.channels.email.inbound import EmailReceiver
from warmline.channels.email.smtp import SmtpListener
from warmline.channels.email.threads import domain_of
from warmline.config import Settings

log = logging.getLogger(__name__)


def email_wanted(settings: Settings) -> bool:
    """Whether the settings ask for inbound email (an SMTP port or an IMAP mailbox)."""
    return settings.email_inbound_port is not None or settings.imap_url is not None


@dataclass
class EmailChannel:
    """The running listener and poller."""

    listener: SmtpListener | None = None
    poller: ImapPoller | None = None
    descriptions: list[str] = field(default_factory=list)

    def stop(self) -> None:
        """Stop taking email in (what is being taken in finishes first)."""
        if self.poller is not None:
            self.poller.stop()
        if self.listener is not None:
            self.listener.stop()


def start_email(services: Services) -> EmailChannel:
    """Start what the settings ask for. Raises ValueError (a password is missing) or OSError
    (the port is taken), so a mistake stops the start instead of losing mail later."""
    settings = services.settings
    receiver = EmailReceiver(services)
    channel = EmailChannel()
    if settings.imap_url is not None and settings.imap_password is None:
        raise ValueError("WARMLINE_IMAP_URL is set but WARMLINE_IMAP_PASSWORD is not")
    if settings.email_inbound_port is not None:
        channel.listener = SmtpListener(
            receiver,
            host=settings.email_inbound_host,
            port=settings.email_inbound_port,
            max_message_bytes=settings.email_max_message_bytes,
            max_recipients=settings.email_max_recipients,
            threads=settings.pipeline_threads,
            server_name=domain_of(settings.mail_from),
        )
        channel.listener.start()
        channel.descriptions.append(
            f"SMTP on {settings.email_inbound_host}:{settings.email_inbound_port}"
        )
    if settings.imap_url is not None and settings.imap_password is not None:
        address = parse_imap_url(settings.imap_url)
        channel.poller = ImapPoller(
            receiver,
            address,
            password=settings.imap_password.get_secret_value(),
            interval=settings.imap_poll_seconds,
            max_message_bytes=settings.email_max_message_bytes,
        )
        channel.poller.start()
        channel.descriptions.append(
            f"IMAP {address.host}:{address.port}/{address.mailbox} "
            f"every {settings.imap_poll_seconds:g} s"
        )
    channel.descriptions.append(f"replies through {receiver.postman.mailer!r}")
    return channel
