"""Mail through a real SMTP server (aiosmtpd on 127.0.0.1) and through the outbox directory,
including a password reset of the demo backend delivered end to end."""

from __future__ import annotations

import hashlib
import re
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from warmline.actions.connectors.base import CustomerRef
from warmline.actions.connectors.demo import create_demo_backend
from warmline.actions.connectors.demo.models import PasswordReset
from warmline.actions.mail import (
    MailError,
    OutboxMailer,
    SmtpMailer,
    mailer_from_url,
)

SENDER = "noreply@brightwave.example"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Collector:
    """The aiosmtpd handler: keeps every message it accepts."""

    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.original_content, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


class Accounts:
    """An aiosmtpd authenticator with one user."""

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"mailer",
            b"s3cret:pass",
        )
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[tuple[Collector, int]]:
    collector = Collector()
    port = free_port()
    controller = Controller(
        collector,
        hostname="127.0.0.1",
        port=port,
        authenticator=Accounts(),
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield collector, port
    finally:
        controller.stop()


def test_smtp_mailer_delivers_to_a_real_server(smtp_server: tuple[Collector, int]) -> None:
    collector, port = smtp_server
    mailer = SmtpMailer("127.0.0.1", port, sender=SENDER, timeout=5)
    mailer.send(
        "ana@example.com", "Your return R-1234", "Hola Ana García,\n\nThe label is ready.\n"
    )
    [received] = collector.received
    assert received.mail_from == SENDER
    assert received.rcpt_tos == ["ana@example.com"]
    assert received.message["Subject"] == "Your return R-1234"
    assert received.message["From"] == SENDER
    assert received.message["Message-ID"].endswith("@brightwave.example>")
    text = received.message.get_content().replace("\r\n", "\n")  # CRLF on the wire
    assert text == "Hola Ana García,\n\nThe label is ready.\n"


def test_smtp_mailer_logs_in(smtp_server: tuple[Collector, int]) -> None:
    collector, port = smtp_server
    good = SmtpMailer("127.0.0.1", port, sender=SENDER, username="mailer", password="s3cret:pass")
    good.send("ben@example.com", "Hi", "Hello Ben")
    assert [r.rcpt_tos for r in collector.received] == [["ben@example.com"]]
    bad = SmtpMailer("127.0.0.1", port, sender=SENDER, username="mailer", password="wrong")
    with pytest.raises(MailError, match="SMTPAuthenticationError") as caught:
        bad.send("ben@example.com", "Hi", "Hello Ben")
    assert "wrong" not in str(caught.value)
    assert len(collector.received) == 1


def test_smtp_mailer_failures_are_mail_errors(smtp_server: tuple[Collector, int]) -> None:
    collector, port = smtp_server
    nobody = SmtpMailer("127.0.0.1", free_port(), sender=SENDER, timeout=2)
    with pytest.raises(MailError, match=r"127\.0\.0\.1"):
        nobody.send("ana@example.com", "Hi", "Hello")
    injected = SmtpMailer("127.0.0.1", port, sender=SENDER)
    with pytest.raises(MailError, match="header"):
        injected.send("ana@example.com", "Hi\nBcc: everyone@example.com", "Hello")
    assert collector.received == []


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 from a throwaway authority (trustme), as PEM files: the
    server's chain, and the authority a client may be told to trust."""
    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1")
    chain, trusted = directory / "chain.pem", directory / "ca.pem"
    issued.private_key_and_cert_chain_pem.write_to_path(str(chain))
    authority.cert_pem.write_to_path(str(trusted))
    return trusted, chain


def test_smtp_mailer_starttls_checks_the_certificate(tmp_path: Path) -> None:
    authority, chain = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(chain)
    collector = Collector()
    port = free_port()
    controller = Controller(
        collector, hostname="127.0.0.1", port=port, tls_context=server_tls, require_starttls=True
    )
    controller.start()
    try:
        trusting = ssl.create_default_context(cafile=str(authority))
        mailer = SmtpMailer("127.0.0.1", port, sender=SENDER, starttls=True, tls_context=trusting)
        mailer.send("ana@example.com", "Over TLS", "Hello")
        assert [r.message["Subject"] for r in collector.received] == ["Over TLS"]
        # The system's CAs do not know this authority: refused, nothing sent.
        default = SmtpMailer("127.0.0.1", port, sender=SENDER, starttls=True)
        with pytest.raises(MailError):
            default.send("ana@example.com", "Over TLS", "Hello")
        # Without STARTTLS the server refuses to take the message.
        plain = SmtpMailer("127.0.0.1", port, sender=SENDER)
        with pytest.raises(MailError):
            plain.send("ana@example.com", "In clear", "Hello")
        assert len(collector.received) == 1
    finally:
        controller.stop()


def test_a_password_reset_arrives_with_a_working_link(
    smtp_server: tuple[Collector, int], tmp_path: Path
) -> None:
    collector, port = smtp_server
    clock = datetime(2026, 3, 10, 8, 30, tzinfo=UTC)
    backend = create_demo_backend(
        f"sqlite:///{tmp_path / 'demo.db'}",
        SmtpMailer("127.0.0.1", port, sender=SENDER),
        clock=lambda: clock,
        reset_url="https://shop.example/reset?token={token}",
    )
    result = backend.call(
        "reset_password", {"email": "ben@example.com"}, CustomerRef(), idempotency_key="k1"
    )
    assert result == {"sent": True}
    [received] = collector.received
    assert received.rcpt_tos == ["ben@example.com"]
    assert "password" in received.message["Subject"].lower()
    found = re.search(r"https://shop\.example/reset\?token=(\S+)", received.message.get_content())
    assert found is not None
    token = found[1]
    assert backend.reset_token_owner(token) == "C-1002"
    with backend.engine.connect() as connection:
        [stored] = connection.scalars(sa.select(PasswordReset.token_hash)).all()
    assert stored == hashlib.sha256(token.encode()).hexdigest() != token


def test_outbox_mailer_writes_and_reads_back(tmp_path: Path) -> None:
    outbox = OutboxMailer(tmp_path / "var" / "outbox", SENDER)
    assert outbox.messages() == []
    outbox.send("ana@example.com", "First", "Hola Ana García")
    outbox.send("ben@example.com", "Second", "Hello Ben\nhttps://x.example/reset?token=" + "a" * 90)
    files = sorted((tmp_path / "var" / "outbox").iterdir())
    assert [f.suffix for f in files] == [".eml", ".eml"]
    first, second = outbox.messages()
    assert (first["To"], first["Subject"], first.get_content()) == (
        "ana@example.com",
        "First",
        "Hola Ana García\n",
    )
    assert second["Subject"] == "Second" and second["From"] == SENDER
    # The link is whole in the raw file, not folded by an encoding.
    assert "token=" + "a" * 90 in files[1].read_text(encoding="ascii")


def test_outbox_mailer_failure_is_a_mail_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    with pytest.raises(MailError, match="outbox"):
        OutboxMailer(blocker, SENDER).send("ana@example.com", "Hi", "Hello")


def test_mailer_from_url(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    fallback = mailer_from_url(None, sender=SENDER, outbox=outbox)
    assert isinstance(fallback, OutboxMailer) and fallback.directory == outbox
    assert isinstance(mailer_from_url("  ", sender=SENDER, outbox=outbox), OutboxMailer)

    plain = mailer_from_url("smtp://mail.example", sender=SENDER, outbox=outbox)
    assert isinstance(plain, SmtpMailer)
    assert (plain.host, plain.port, plain.starttls, plain.username) == (
        "mail.example",
        25,
        False,
        None,
    )
    tls = mailer_from_url(
        "smtp+starttls://mailer:p%40ss@mail.example:2525", sender=SENDER, outbox=outbox
    )
    assert isinstance(tls, SmtpMailer)
    assert (tls.host, tls.port, tls.starttls, tls.username) == (
        "mail.example",
        2525,
        True,
        "mailer",
    )
    assert tls._password == "p@ss"
    assert "p@ss" not in repr(tls)
    default_port = mailer_from_url("smtp+starttls://mail.example", sender=SENDER, outbox=outbox)
    assert isinstance(default_port, SmtpMailer) and default_port.port == 587
    from_env = mailer_from_url(
        "smtp://mailer@mail.example", sender=SENDER, outbox=outbox, password="from-env"
    )
    assert isinstance(from_env, SmtpMailer) and from_env._password == "from-env"


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("http://mail.example", "scheme"),
        ("mail.example:25", "scheme"),
        ("smtp://", "no host"),
        ("smtp://mail.example:99999", "port"),
        ("smtp://mail.example:abc", "port"),
        ("smtp://mail.example:0", "port"),
        ("smtp://:hunter2@mail.example", "no user name"),
        ("smtp://mail.example/inbox", "path"),
    ],
)
def test_a_malformed_mail_url_says_what_is_wrong(url: str, complaint: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=complaint) as caught:
        mailer_from_url(url, sender=SENDER, outbox=tmp_path)
    assert "hunter2" not in str(caught.value)
