"""Reading one inbound email: who sent it, what it says, what it carries, and whether a robot
sent it. Pure (no database, no network) and never raises on what a sender can put in a message.

- Headers are read as the raw text the sender wrote and decoded one by one, so a header that
  does not parse costs that header only, and a `To:` with 10,000 addresses is never parsed.
- The text is the `text/plain` part, else the `text/html` part converted to text (Beautiful
  Soup), with quoted history and signatures removed by `mail-parser-reply`; the original is not
  kept (only what the conversation needs: the newest text, the subject, attachments' names,
  types and sizes).
- Automatic mail (RFC 3834 `Auto-Submitted`, `Precedence: bulk/junk/list`, `X-Autoreply`,
  delivery and read reports, a null return path, mailer-daemon senders) is recognised so that
  it never starts a conversation and is never answered: two robots cannot loop.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message
from email.policy import compat32
from email.utils import getaddresses, parseaddr
from typing import Any

from bs4 import BeautifulSoup
from mailparser_reply import EmailMessage as ReplyText

# The languages whose reply headers ("On ... wrote:", "Am ... schrieb:") and sign-offs are
# recognised. Each adds patterns that cut a text at a matching line, so only common ones.
LANGUAGES = ["en", "de", "fr", "es", "it", "nl"]
ROBOT_SENDERS = frozenset(
    {"mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply", "do-not-reply"}
)
_BULK = frozenset({"bulk", "junk", "list"})
_MESSAGE_ID = re.compile(r"<[!-;=?-~]{1,250}@[!-;=?-~]{1,250}>")  # visible ASCII but < and >
_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"]{1,64}@[\w.-]{1,253}\.[\w-]{2,63}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
MAX_HEADER_CHARS = 2000  # a subject or name longer than this is cut
MAX_SCANNED_CHARS = 30_000  # text read for the newest reply (it comes first)
LONG_LINE = 200  # see _without_quotes


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attachment:
    """What is kept of an attachment: its name, type and size; `refused` when over the limit
    (its content is never kept either way)."""

    name: str
    type: str
    size: int
    refused: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The form stored with the customer's message."""
        kept: dict[str, Any] = {"name": self.name, "type": self.type, "size": self.size}
        if self.refused:
            kept["refused"] = "too large"
        return kept

    @property
    def label(self) -> str:
        """The attachment for the customer: "invoice.pdf (20.0 MB)"."""
        return f"{self.name} ({megabytes(self.size)})"


@dataclass(frozen=True)
class InboundEmail:
    """One inbound email as the channel uses it."""

    sender: str | None  # the From address, None when there is no usable one
    sender_name: str | None
    subject: str
    message_id: str | None
    # Message-IDs this email answers, most direct first: In-Reply-To, then References newest
    # first; where a thread token is looked for.
    answers: tuple[str, ...]
    references: tuple[str, ...]  # its References header as written (oldest first)
    text: str  # the newest part, without quoted history or signature ("" if none)
    truncated: bool = False
    attachments: tuple[Attachment, ...] = ()
    robot: str | None = None  # why this is automatic mail, never to be answered
    defects: int = 0  # problems the MIME parser worked around

    @property
    def refused_attachments(self) -> list[Attachment]:
        """The attachments over the size limit."""
        return [a for a in self.attachments if a.refused]

    def meta(self) -> dict[str, Any]:
        """What is stored with the customer's message besides its text."""
        kept: dict[str, Any] = {"subject": self.subject}
        if self.attachments:
            kept["attachments"] = [a.as_dict() for a in self.attachments]
        if self.truncated:
            kept["truncated"] = True
        return kept


@dataclass
class _Parts:
    plain: str | None = None
    html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)


def parse_email(
    raw: bytes,
    *,
    envelope_sender: str | None = None,
    max_chars: int = 10_000,
    max_attachment_bytes: int = 10 * 1024 * 1024,
    own_addresses: frozenset[str] = frozenset(),
) -> InboundEmail:
    """Read `raw` (the message as received). `envelope_sender` is SMTP's `MAIL FROM` ("" for
    the null path of bounces; None when unknown, as over IMAP, where `Return-Path` tells).
    The text is cut at `max_chars`; attachments over `max_attachment_bytes` are refused.
    Mail from `own_addresses` (our own replies come back) counts as automatic."""
    try:
        return _parse(raw, envelope_sender, max_chars, max_attachment_bytes, own_addresses)
    except Exception:  # nothing a sender writes may crash the channel: unreadable, refused
        log.exception("an email could not be read; it is refused as unreadable")
        return InboundEmail(
            sender=None,
            sender_name=None,
            subject="",
            message_id=None,
            answers=(),
            references=(),
            text="",
            defects=1,
        )


def _parse(
    raw: bytes,
    envelope_sender: str | None,
    max_chars: int,
    max_attachment_bytes: int,
    own_addresses: frozenset[str],
) -> InboundEmail:
    message = message_from_bytes(raw, policy=compat32)
    headers = _Headers(message)
    sender_name, sender = _sender(headers.text("From"))
    parts = _walk(message, max_attachment_bytes)
    text = _newest_text(parts)
    truncated = len(text) > max_chars
    if truncated:
        cut = text[:max_chars]
        text = cut[: cut.rfind(" ")] if " " in cut[max_chars // 2 :] else cut
    references = _ids(headers.text("References"))
    answers = [*_ids(headers.text("In-Reply-To")), *reversed(references)]
    return InboundEmail(
        sender=sender,
        sender_name=sender_name,
        subject=headers.text("Subject"),
        message_id=next(iter(_ids(headers.text("Message-ID"))), None),
        answers=tuple(answers),
        references=tuple(references),
        text=text,
        truncated=truncated,
        attachments=tuple(parts.attachments),
        robot=_robot(message, headers, sender, envelope_sender, own_addresses),
        defects=len(message.defects) + sum(len(p.defects) for p in message.walk()),
    )


def megabytes(size: int) -> str:
    """A size for people: "20.0 MB" (10^6 bytes, as mail clients show it)."""
    return f"{size / 1_000_000:.1f} MB"


class _Headers:
    """Header values decoded one at a time; one that cannot be decoded is read as raw text."""

    def __init__(self, message: Message) -> None:
        self._message = message

    def raw(self, name: str) -> str:
        try:
            value = self._message.get(name)
        except Exception:  # a header the parser cannot even split
            return ""
        return str(value) if value is not None else ""

    def text(self, name: str) -> str:
        value = self.raw(name)
        if not value:
            return ""
        return _clean(" ".join(_header_text(value[: MAX_HEADER_CHARS * 4]).split()))[
            :MAX_HEADER_CHARS
        ]


def _sender(from_header: str) -> tuple[str | None, str | None]:
    """The display name and address of the first From address, if it is a usable one."""
    pairs = getaddresses([from_header]) if from_header else []
    name, address = pairs[0] if pairs else parseaddr(from_header)
    address = address.strip()
    if not _ADDRESS.fullmatch(address):
        return None, None
    return (name.strip()[:100] or None), address


def _ids(value: str) -> list[str]:
    return _MESSAGE_ID.findall(value) if value else []


def _robot(
    message: Message,
    headers: _Headers,
    sender: str | None,
    envelope_sender: str | None,
    own_addresses: frozenset[str],
) -> str | None:
    """Why this email was sent by a machine, or None for a person's."""
    submitted = headers.raw("Auto-Submitted").split(";")[0].strip().lower()
    if submitted and submitted != "no":
        return f"Auto-Submitted: {submitted[:40]}"
    precedence = headers.raw("Precedence").strip().lower()
    if precedence in _BULK:
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply"):
        if headers.raw(name):
            return name
    try:
        content_type = message.get_content_type()
    except Exception:
        content_type = ""
    if content_type == "multipart/report":
        report = str(message.get_param("report-type") or "report")
        return f"multipart/report ({report[:40]})"
    if envelope_sender is not None:
        if not envelope_sender.strip():
            return "null return path (a bounce)"
    elif headers.raw("Return-Path").strip() == "<>":
        return "null return path (a bounce)"
    if sender is not None:
        local = sender.rpartition("@")[0].lower()
        if local in ROBOT_SENDERS:
            return f"sender {local}"
        if sender.casefold() in own_addresses:
            return "our own address"
    return None


def _walk(message: Message, max_attachment_bytes: int) -> _Parts:
    """The first plain and HTML body parts, and every attachment (name, type, size)."""
    parts = _Parts()
    for part in message.walk():
        if part.is_multipart():
            continue
        try:
            content_type = part.get_content_type()
            disposition = (part.get_content_disposition() or "").lower()
            filename = part.get_filename()
        except Exception:
            content_type, disposition, filename = "application/octet-stream", "attachment", None
        inline = content_type in ("text/plain", "text/html") and not filename
        if inline and disposition != "attachment":
            if content_type == "text/plain" and parts.plain is None:
                parts.plain = _decoded(part)
            elif content_type == "text/html" and parts.html is None:
                parts.html = _decoded(part)
            continue  # a further text part (a footer a list added) is not an attachment
        size = _size(part)
        name = _clean(_header_text(filename) or f"unnamed.{content_type.split('/')[-1]}")[:200]
        parts.attachments.append(
            Attachment(name=name, type=content_type, size=size, refused=size > max_attachment_bytes)
        )
    return parts


def _header_text(value: str | None) -> str:
    """A header's text with its encoded words (RFC 2047) decoded; a word in an unknown charset
    is read as UTF-8, bytes that do not decode become U+FFFD."""
    if not value:
        return ""
    try:
        return str(make_header(decode_header(value)))
    except Exception:
        pass
    try:
        chunks = decode_header(value)
    except Exception:  # not even split into words: what was written
        return value
    out: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
            continue
        try:
            out.append(chunk.decode(charset or "ascii", errors="replace"))
        except LookupError:
            out.append(chunk.decode("utf-8", errors="replace"))
    return "".join(out)


def _size(part: Message) -> int:
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if isinstance(payload, bytes):
        return len(payload)
    raw = part.get_payload()
    return len(raw) if isinstance(raw, str) else 0


def _decoded(part: Message) -> str:
    """A text part as text, whatever its declared charset and transfer encoding claim."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        return _clean(raw) if isinstance(raw, str) else ""
    charset = part.get_content_charset() or "utf-8"
    try:
        text = payload.decode(charset, errors="replace")
    except (LookupError, UnicodeError):  # an unknown or broken charset name
        text = payload.decode("utf-8", errors="replace")
    return _clean(text)


def _clean(text: str) -> str:
    """Without NUL, other control characters and lone surrogates (nothing stores those)."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _newest_text(parts: _Parts) -> str:
    """The text the customer wrote in this email: without quoted history and signature."""
    if parts.plain is not None and parts.plain.strip():
        source = parts.plain[:MAX_SCANNED_CHARS]
    elif parts.html is not None:
        source = html_to_text(parts.html[: MAX_SCANNED_CHARS * 4])[:MAX_SCANNED_CHARS]
    else:
        return ""
    newest = _without_quotes(source)
    if not newest:
        # Everything looked like history or signature (a reply written under the quote, a
        # one-line "Thanks, Ana"): the unquoted lines are still what the customer wrote.
        newest = "\n".join(line for line in source.splitlines() if not line.startswith(">"))
    return _BLANK_LINES.sub("\n\n", newest).strip()


def _without_quotes(text: str) -> str:
    """The text up to the first reply header ("On ... wrote:", an Outlook "From: / Sent:"
    block), without signature and quoted lines. The parser's patterns take time that grows
    quickly with the length of a line, and no reply header is a long line: lines longer than
    `LONG_LINE` stand in as placeholders while it reads, so any email is read in well under a
    second."""
    long_lines: dict[str, str] = {}
    shown: list[str] = []
    for line in text.splitlines():
        if len(line) > LONG_LINE:
            key = f"wl-long-line-{len(long_lines)}"
            long_lines[key] = line.strip()
            line = key
        shown.append(line)
    try:
        reading = ReplyText(
            text="\n".join(shown), languages=list(LANGUAGES), keep_hyphen_lists=True
        ).read()
        newest = str(reading.replies[0].body) if reading.replies else "\n".join(shown)
    except Exception:  # the parser's regular expressions on odd input: keep the text
        newest = "\n".join(shown)
    lines = [
        long_lines.get(line.strip(), line)
        for line in newest.splitlines()
        if not line.lstrip().startswith(">")
    ]
    return "\n".join(lines).strip()


_BLOCKS = ("p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol")
# Quoted history in HTML mail: Gmail, Apple Mail and Thunderbird quote in a blockquote (or a
# div of their own), Outlook puts the earlier mail after a `divRplyFwdMsg` header.
_QUOTES = ("blockquote", ".gmail_quote", "#divRplyFwdMsg", ".moz-cite-prefix", "#appendonsend")


def html_to_text(html: str) -> str:
    """The readable text of an HTML email, without scripts, styles and quoted history."""
    try:
        soup = BeautifulSoup(html, "lxml")
    except Exception:
        return ""
    for tag in soup(["script", "style", "head", "title"]):
        tag.decompose()
    for selector in _QUOTES:
        for quoted in soup.select(selector):
            if quoted.decomposed:
                continue
            if selector in ("#divRplyFwdMsg", "#appendonsend"):
                for later in list(quoted.find_all_next()):
                    if not later.decomposed:
                        later.decompose()
            quoted.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for block in soup.find_all(_BLOCKS):
        block.insert_after("\n")
    text = soup.get_text()
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return _clean(_BLANK_LINES.sub("\n\n", "\n".join(lines))).strip()
