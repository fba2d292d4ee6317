"""Request dependencies: the services, and who is calling (customer, agent or API key)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from warmline.api.problems import Problem
from warmline.api.services import Services
from warmline.storage.agents import agent_for_token, get_agent


def get_services(request: Request) -> Services:
    """The app's services."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


@dataclass(frozen=True)
class AgentIdentity:
    """The agent a request acts as."""

    id: str
    via_api_key: bool = False


def _bearer(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None
    return None


def require_agent(
    services: ServicesDep,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
    x_agent_id: Annotated[str | None, Header(max_length=100)] = None,
) -> AgentIdentity:
    """An agent token (`Authorization: Bearer ...`) or the API key (`X-API-Key`, acting as the
    agent named by `X-Agent-Id`, default `admin`)."""
    if x_api_key is not None:
        if not hmac.compare_digest(x_api_key, services.settings.api_key):
            raise Problem(401, "The API key is not valid.")
        return AgentIdentity(id=x_agent_id or "admin", via_api_key=True)
    token = _bearer(authorization)
    if token is None:
        raise Problem(401, "This endpoint needs an agent token or the API key.")
    with services.sessions() as session:
        agent = agent_for_token(session, token=token)
    if agent is None:
        raise Problem(401, "The agent token is not valid.")
    return AgentIdentity(id=agent.id)


def require_api_key(
    services: ServicesDep, x_api_key: Annotated[str | None, Header()] = None
) -> None:
    """Administrative endpoints take only the API key."""
    if x_api_key is None or not hmac.compare_digest(x_api_key, services.settings.api_key):
        raise Problem(401, "This endpoint needs the API key (X-API-Key).")


def require_conversation_access(
    conversation_id: str,
    services: ServicesDep,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> None:
    """The customer's conversation token, an agent token, or the API key."""
    if x_api_key is not None and hmac.compare_digest(x_api_key, services.settings.api_key):
        return
    token = _bearer(authorization)
    if token is None:
        raise Problem(401, "This conversation needs its token (Authorization: Bearer ...).")
    if hmac.compare_digest(token, services.conversation_token(conversation_id)):
        return
    with services.sessions() as session:
        if agent_for_token(session, token=token) is not None:
            return
    raise Problem(401, "The token does not grant access to this conversation.")


def known_agent(services: Services, agent_id: str) -> bool:
    """True if an agent with this id exists (or it is the built-in admin)."""
    if agent_id == "admin":
        return True
    with services.sessions() as session:
        return get_agent(session, agent_id=agent_id) is not None


AgentDep = Annotated[AgentIdentity, Depends(require_agent)]
