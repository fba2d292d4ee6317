"""The objects the API views use, built once per app: settings, sessions, the engine."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from warmline.config import Settings
from warmline.engine import Engine


@dataclass
class Services:
    """Everything a request handler may need, shared across requests."""

    settings: Settings
    sessions: sessionmaker[Session]
    engine: Engine

    def conversation_token(self, conversation_id: str) -> str:
        """The customer's bearer token for one conversation (an HMAC, so nothing is stored)."""
        key = self.settings.secret_key.encode("utf-8")
        return hmac.new(key, conversation_id.encode("utf-8"), hashlib.sha256).hexdigest()
