"""Thread tokens: which conversation an email continues, provable only by this deployment.

Every email warmline sends has a `Message-ID` of the form
`<wl.{conversation id}.{seq}.{tag}@{domain}>`, where `tag` is an HMAC-SHA256 of the
conversation id with a key derived from `WARMLINE_SECRET_KEY`. A mail client answering it puts
that id in `In-Reply-To` and `References`; an inbound email joins a conversation only when one
of those carries a token whose tag matches (compared in constant time). A forged `In-Reply-To`
naming someone else's conversation has no valid tag and starts a new conversation instead.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from email.utils import make_msgid

_TOKEN = re.compile(r"<wl\.([0-9a-f]{32})\.([0-9]{1,9})\.([0-9a-f]{32})@[^<>\s]{1,255}>")
_CONVERSATION_ID = re.compile(r"[0-9a-f]{32}")
_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
MAX_IDS_READ = 100  # tokens looked at per email (References of a long thread, or a flood)


class ThreadKeys:
    """Makes and checks thread tokens with a key derived from the deployment's secret."""

    def __init__(self, secret: str) -> None:
        self._key = hmac.new(
            secret.encode("utf-8"), b"warmline-email-thread-v1", hashlib.sha256
        ).digest()

    def __repr__(self) -> str:
        return "ThreadKeys(<secret>)"

    def tag(self, conversation_id: str) -> str:
        """The conversation's tag: 128 bits of HMAC-SHA256, in hex."""
        digest = hmac.new(self._key, conversation_id.encode("utf-8"), hashlib.sha256)
        return digest.hexdigest()[:32]

    def message_id(self, conversation_id: str, seq: int, domain: str) -> str:
        """The `Message-ID` of the email carrying event `seq` of the conversation. A
        conversation whose id cannot carry a token (not one warmline made) gets a plain id, so
        replies to it start a new conversation rather than guessing."""
        host = domain if _DOMAIN.fullmatch(domain) else "localhost"
        if not _CONVERSATION_ID.fullmatch(conversation_id):
            return make_msgid(domain=host)
        return f"<wl.{conversation_id}.{seq}.{self.tag(conversation_id)}@{host}>"

    def conversation_of(self, headers: Iterable[str]) -> str | None:
        """The conversation the first valid token in these header values (In-Reply-To first,
        then References from the newest) belongs to; None when no token is valid."""
        seen = 0
        for value in headers:
            for match in _TOKEN.finditer(value):
                seen += 1
                if seen > MAX_IDS_READ:
                    return None
                conversation_id, _seq, tag = match.groups()
                if hmac.compare_digest(self.tag(conversation_id).encode(), tag.encode()):
                    return conversation_id
        return None

    def new_conversation_id(self, sender: str, message_id: str) -> str:
        """The id of the conversation a first email starts: derived from its sender and
        `Message-ID`, so a redelivery of the same email (an SMTP retry, an IMAP message seen
        again after a crash) finds the conversation instead of opening a second one."""
        text = f"new-conversation\n{sender.casefold()}\n{message_id}"
        return hmac.new(self._key, text.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def domain_of(address: str) -> str:
    """The domain of an address, for `Message-ID`s ("localhost" if it has none)."""
    domain = address.rpartition("@")[2].strip().strip(">")
    return domain if _DOMAIN.fullmatch(domain) else "localhost"
