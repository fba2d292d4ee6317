"""Who may call what: every route names the roles it allows with `allow(...)`.

A caller is identified once per request from its credentials:
- `X-API-Key`: the administrator (optionally acting as an existing agent named by `X-Agent-Id`);
- `Authorization: Bearer <token>`: the customer of the conversation in the path (its
  conversation token), or an agent, supervisor or admin (their own agent token);
- the console's session cookie: the agent who signed in (state-changing requests also need the
  session's CSRF token in `X-CSRF-Token`);
- nothing: anonymous.
A caller without the role gets 401 when anonymous (credentials are missing) and 403 otherwise.
Every comparison of a secret is constant-time over bytes, so a malformed credential (any byte,
any length) is simply not recognised: 401, never an error.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.routing import iter_route_contexts
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from warmline.api.problems import Problem
from warmline.api.services import Services
from warmline.storage.agents import agent_for_token, get_agent
from warmline.storage.models import AgentRow
from warmline.web.sessions import (
    CSRF_HEADER,
    SAFE_METHODS,
    csrf_matches,
    password_fingerprint,
    session_agent_id,
)

ADMIN_AGENT_ID = "admin"
ROLES_ATTRIBUTE = "__warmline_roles__"


class Role(StrEnum):
    """The roles a route can allow."""

    ANONYMOUS = "anonymous"
    CUSTOMER = "customer"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


PUBLIC = frozenset(Role)
STAFF = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN})
OVERSIGHT = frozenset({Role.SUPERVISOR, Role.ADMIN})
ADMIN_ONLY = frozenset({Role.ADMIN})
CUSTOMER_ONLY = frozenset({Role.CUSTOMER})
CUSTOMER_OR_STAFF = frozenset({Role.CUSTOMER, *STAFF})


@dataclass(frozen=True)
class Caller:
    """Who is calling: their role and, for staff, the agent id they act as."""

    role: Role
    agent_id: str | None = None

    @property
    def oversees(self) -> bool:
        """Supervisors and admins may act on conversations assigned to someone else."""
        return self.role in OVERSIGHT


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison on UTF-8 bytes (never raises, whatever the characters)."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


_bearer = HTTPBearer(auto_error=False, description="An agent token or a conversation token.")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="The administrator key.")


async def identify(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
    x_agent_id: Annotated[
        str | None,
        Header(
            pattern=r"^[A-Za-z0-9_.@-]{1,100}$",
            description="With the API key: the existing agent to act as (default: admin).",
        ),
    ] = None,
) -> Caller:
    """The caller behind the request's credentials. Every credential sent must be valid (a
    wrong bearer token next to a good API key is still 401); with both, the API key decides.
    The security schemes above document the headers; the raw headers decide, so a malformed,
    empty or repeated credential is refused rather than ignored."""
    services = _services(request)
    token, key = _credentials(request)
    if token is None and key is None:
        return await session_caller(request, services)
    by_bearer = await _bearer_caller(request, services, token) if token is not None else None
    if key is not None:
        if not same_secret(key, services.settings.api_key):
            raise Problem(401, "The API key is not valid.")
        if x_agent_id is None or x_agent_id == ADMIN_AGENT_ID:
            return Caller(Role.ADMIN, ADMIN_AGENT_ID)
        return Caller(Role.ADMIN, await run_in_threadpool(_acting_agent, services, x_agent_id))
    return by_bearer or Caller(Role.ANONYMOUS)


def _credentials(request: Request) -> tuple[str | None, str | None]:
    """The bearer token and the API key as sent; 401 if either is malformed or repeated."""
    authorizations = request.headers.getlist("authorization")
    keys = request.headers.getlist("x-api-key")
    if len(authorizations) > 1 or len(keys) > 1:
        raise Problem(401, "Send each credential once.")
    token = None
    if authorizations:
        scheme, _, value = authorizations[0].strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Problem(401, "Authorization must be 'Bearer <token>'.")
        token = value.strip()
    key = keys[0] if keys else None
    if key is not None and not key.strip():
        raise Problem(401, "The API key is empty.")
    return token, key


async def _bearer_caller(request: Request, services: Services, token: str) -> Caller:
    """The customer of the conversation in the path (no database needed), or the agent
    owning the token."""
    conversation_id = request.path_params.get("conversation_id")
    if conversation_id and same_secret(token, services.conversation_token(conversation_id)):
        return Caller(Role.CUSTOMER)
    agent = await run_in_threadpool(_agent_for, services, token)
    if agent is None:
        raise Problem(401, "The token is not valid here.")
    return Caller(Role(agent.role), agent.id)


async def session_caller(request: Request, services: Services) -> Caller:
    """The agent signed in to the console in this browser (its session cookie), or anonymous.
    A request that changes something must also carry the session's CSRF token in
    `X-CSRF-Token`, which a page of another site cannot read or send."""
    signed_in = session_agent_id(request)
    if signed_in is None:
        return Caller(Role.ANONYMOUS)
    agent = await run_in_threadpool(_session_agent, services, *signed_in)
    if agent is None:
        return Caller(Role.ANONYMOUS)
    if request.method not in SAFE_METHODS and not csrf_matches(
        request, request.headers.get(CSRF_HEADER)
    ):
        raise Problem(
            403,
            f"This request needs the session's CSRF token in the {CSRF_HEADER} header.",
            kind="csrf",
        )
    return Caller(Role(agent.role), agent.id)


def _session_agent(services: Services, agent_id: str, fingerprint: str) -> AgentRow | None:
    """The agent of a session, unless their password changed since they signed in."""
    with services.reading() as session:
        agent = get_agent(session, agent_id=agent_id)
    if agent is None or not same_secret(fingerprint, password_fingerprint(agent)):
        return None
    return agent


def _agent_for(services: Services, token: str) -> AgentRow | None:
    with services.reading() as session:
        return agent_for_token(session, token=token)


def _acting_agent(services: Services, agent_id: str) -> str:
    """The existing agent the API key acts as."""
    with services.reading() as session:
        if get_agent(session, agent_id=agent_id) is None:
            raise Problem(
                403, f"X-Agent-Id names no agent ({agent_id}); create it first.", kind="no-agent"
            )
    return agent_id


def allow(roles: frozenset[Role], *, read_credentials: bool = False) -> Any:
    """A dependency admitting only callers with one of `roles`; it returns the Caller.

    The roles are kept on the dependency so documentation and tests read them off the routes.
    A public route reads no credentials (a stale token never gets in the way) unless it asks
    to, to give trusted callers more (then credentials, if sent, must be valid).
    """
    if roles == PUBLIC and read_credentials:

        async def anyone_known(
            request: Request,
            bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
            api_key: Annotated[str | None, Depends(_api_key)],
        ) -> Caller:
            # A customer's token belongs to one conversation and means nothing here: such a
            # caller is simply anonymous. A wrong API key is still refused.
            try:
                return await identify(request, bearer, api_key)
            except Problem as problem:
                if "x-api-key" not in request.headers and problem.status == 401:
                    return Caller(Role.ANONYMOUS)
                raise

        setattr(anyone_known, ROLES_ATTRIBUTE, roles)
        return Depends(anyone_known)
    if roles == PUBLIC:

        async def anyone() -> Caller:
            return Caller(Role.ANONYMOUS)

        setattr(anyone, ROLES_ATTRIBUTE, roles)
        return Depends(anyone)

    async def check(caller: Annotated[Caller, Depends(identify)]) -> Caller:
        if caller.role in roles:
            return caller
        if caller.role is Role.ANONYMOUS:
            raise Problem(401, "This endpoint needs credentials (a bearer token or X-API-Key).")
        raise Problem(403, f"A {caller.role.value} may not do this.", kind="forbidden")

    setattr(check, ROLES_ATTRIBUTE, roles)
    return Depends(check)


# FastAPI's own documentation routes: public, and they take no credentials.
DOCUMENTATION_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})


@dataclass(frozen=True)
class RouteRule:
    """One method on one path and the roles allowed there (None: the route has no rule)."""

    method: str
    path: str
    roles: frozenset[Role] | None


def route_rules(app: FastAPI) -> list[RouteRule]:
    """Every method of every route of the app with its roles, read off the routes themselves
    (docs/access.md lists them; the tests check one request per role per route)."""
    rules: list[RouteRule] = []
    for context in iter_route_contexts(app.routes):
        path = str(getattr(context, "path_format", ""))
        roles = PUBLIC if path in DOCUMENTATION_PATHS else _dependant_roles(context)
        for method in sorted(set(getattr(context, "methods", None) or ()) - {"HEAD"}):
            rules.append(RouteRule(method, path, roles))
    return rules


def _dependant_roles(context: Any) -> frozenset[Role] | None:
    dependant = getattr(context, "dependant", None)
    pending = list(dependant.dependencies) if dependant is not None else []
    while pending:
        dependency = pending.pop()
        roles = getattr(dependency.call, ROLES_ATTRIBUTE, None)
        if roles is not None:
            return frozenset(roles)
        pending.extend(dependency.dependencies)
    return None
