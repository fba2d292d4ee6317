"""The console's sign-in session: a signed cookie naming the agent, with a CSRF token.

The cookie (Starlette's SessionMiddleware, signed with a key derived from
`WARMLINE_SECRET_KEY`) holds the agent id, a fingerprint of their password hash (changing the
password ends every session) and a random CSRF token. It is HttpOnly and SameSite=Strict, and
Secure outside development. Every state-changing request made with the cookie must echo the
CSRF token, in the `X-CSRF-Token` header (the console's scripts) or the form's `csrf_token`
field (the login and logout forms).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from starlette.requests import Request

from warmline.storage.models import AgentRow

SESSION_COOKIE = "warmline_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def session_key(secret_key: str) -> str:
    """The cookie-signing key: derived, so it differs from what signs conversation tokens."""
    return hmac.new(secret_key.encode(), b"warmline-console-session", hashlib.sha256).hexdigest()


def _session(request: Request) -> dict[str, Any]:
    # No SessionMiddleware (an app built without the web layer): nobody is signed in.
    if "session" not in request.scope:
        return {}
    session: dict[str, Any] = request.session
    return session


def password_fingerprint(agent: AgentRow) -> str:
    """A short digest of the agent's password hash: sessions remember it, so a new password
    signs every browser out."""
    return hashlib.sha256((agent.password_hash or "").encode()).hexdigest()[:32]


def session_agent_id(request: Request) -> tuple[str, str] | None:
    """The signed-in agent's id and password fingerprint, if the cookie holds them."""
    session = _session(request)
    agent_id, fingerprint = session.get("agent"), session.get("pw")
    if isinstance(agent_id, str) and isinstance(fingerprint, str):
        return agent_id, fingerprint
    return None


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use (a login page gets one too)."""
    session = _session(request)
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        if "session" in request.scope:
            request.session["csrf"] = token
    return token


def csrf_matches(request: Request, supplied: str | None) -> bool:
    """Whether `supplied` is this session's CSRF token (constant time)."""
    expected = _session(request).get("csrf")
    if not isinstance(expected, str) or not supplied:
        return False
    return hmac.compare_digest(supplied.encode("utf-8", "surrogatepass"), expected.encode())


def sign_in(request: Request, agent: AgentRow) -> None:
    """Start a fresh session for the agent (a new CSRF token: nothing from before survives)."""
    request.session.clear()
    request.session.update(
        {
            "agent": agent.id,
            "pw": password_fingerprint(agent),
            "csrf": secrets.token_urlsafe(32),
        }
    )


def sign_out(request: Request) -> None:
    """End the session."""
    request.session.clear()
