"""The web pages: the landing page, the chat widget (its loader script, its frame and a demo
site), the console's sign-in, the agent console and the supervisor dashboard.

Pages are rendered on the server (Jinja2, autoescaped) and their scripts read data only from a
JSON block and the API, inserting text as text. Staff pages use the same roles as the API
(`access.allow`): a visitor who is not signed in is sent to the sign-in page, a signed-in
agent without the role gets a 403 page.
"""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from warmline import __version__
from warmline.analytics.charts import CHARTS
from warmline.api.access import (
    OVERSIGHT,
    PUBLIC,
    ROLES_ATTRIBUTE,
    STAFF,
    Caller,
    Role,
    allow,
    identify,
)
from warmline.api.deps import ServicesDep
from warmline.api.limits import take
from warmline.api.problems import Problem
from warmline.api.schemas import DISPOSITIONS
from warmline.api.services import Services
from warmline.storage.agents import agent_for_password, get_agent
from warmline.storage.models import AgentRow
from warmline.storage.ratelimits import Limit
from warmline.web.sessions import (
    csrf_matches,
    csrf_token,
    session_agent_id,
    sign_in,
    sign_out,
)

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
STATIC_URL = "/static"
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)


class PageForbidden(Exception):
    """A signed-in agent asked for a page their role does not open."""


class SignInNeeded(Exception):
    """A staff page was asked for without a staff sign-in: go to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def page_access(roles: frozenset[Role]) -> Any:
    """A dependency for a staff page: the caller if they have one of `roles`; otherwise the
    sign-in page for visitors and customers, a 403 page for staff without the role."""

    async def check(request: Request) -> Caller:
        try:
            caller = await identify(request, None, None)
        except Problem as problem:
            if problem.status != 401:
                raise
            caller = Caller(Role.ANONYMOUS)
        if caller.role in roles:
            return caller
        if caller.role in (Role.ANONYMOUS, Role.CUSTOMER):
            raise SignInNeeded(request.url.path)
        raise PageForbidden(f"A {caller.role.value} may not open this page.")

    setattr(check, ROLES_ATTRIBUTE, roles)
    return Depends(check)


StaffPage = Annotated[Caller, page_access(STAFF)]
OverseerPage = Annotated[Caller, page_access(OVERSIGHT)]


# Pages with a form that changes something (sign in, sign out): only they start a session for
# its CSRF token, so the widget and the demo site set no cookie on customers' browsers.
_FORMS = frozenset({"login.html", "console.html", "dashboard.html", "error.html"})


def _page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    token = csrf_token(request) if name in _FORMS else ""
    return templates.TemplateResponse(
        request,
        name,
        {"static": STATIC_URL, "csrf_token": token, **context},
        status_code=status_code,
    )


def _agent(services: Services, agent_id: str | None) -> AgentRow | None:
    if agent_id is None:
        return None
    with services.reading() as session:
        return get_agent(session, agent_id=agent_id)


def _user(services: Services, caller: Caller) -> dict[str, str]:
    agent = _agent(services, caller.agent_id)
    name = agent.name if agent else (caller.agent_id or "admin")
    return {"id": caller.agent_id or "admin", "name": name, "role": caller.role.value}


@router.get("/", response_class=HTMLResponse, dependencies=[allow(PUBLIC)])
def index(request: Request) -> HTMLResponse:
    """What is running and where to go."""
    return _page(request, "index.html", user=None, version=__version__)


@router.get("/widget", response_class=HTMLResponse, dependencies=[allow(PUBLIC)])
def widget_frame(request: Request) -> HTMLResponse:
    """The chat itself: the page the widget's loader shows in its frame."""
    config = {"title": "Brightwave support", "brand": "Brightwave"}
    return _page(request, "widget.html", config=config)


@router.get("/widget.js", response_class=Response, dependencies=[allow(PUBLIC)])
def widget_script(request: Request) -> Response:
    """The loader a site embeds with one script tag (compressed when the browser accepts)."""
    plain, packed = _widget_script()
    headers = {"Cache-Control": "public, max-age=300", "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(packed, media_type="text/javascript", headers=headers)
    return Response(plain, media_type="text/javascript", headers=headers)


@cache
def _widget_script() -> tuple[bytes, bytes]:
    plain = (STATIC / "widget.js").read_bytes()
    return plain, gzip.compress(plain, compresslevel=9, mtime=0)


@router.get("/demo", response_class=HTMLResponse, dependencies=[allow(PUBLIC)])
def demo_site(request: Request) -> HTMLResponse:
    """A demo company's help page with the widget embedded, as a customer's site would."""
    src = str(request.url_for("widget_script"))
    snippet = f'<script src="{src}" async></script>'
    return _page(request, "demo.html", widget_src=src, snippet=snippet)


@router.get("/console/login", response_class=HTMLResponse, dependencies=[allow(PUBLIC)])
def login_page(request: Request, next: str = "/console") -> HTMLResponse:
    """The sign-in form."""
    return _page(request, "login.html", user=None, next=_safe_next(next), error=None)


@router.post("/console/login", response_class=HTMLResponse, dependencies=[allow(PUBLIC)])
async def login(
    request: Request,
    services: ServicesDep,
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/console",
) -> Response:
    """Check the password (Argon2) and start a session. Attempts are limited per address
    (`WARMLINE_LOGIN_ATTEMPTS_PER_MINUTE`), whatever the name tried."""
    target = _safe_next(next)
    if not csrf_matches(request, csrf_token):
        return _page(
            request,
            "login.html",
            403,
            user=None,
            next=target,
            error="The form expired. Please sign in again.",
        )
    per_minute = services.settings.login_attempts_per_minute
    client = request.client.host if request.client else "unknown"
    verdict = await take(
        services.buckets,
        f"login:{client}",
        Limit(per_minute, per_minute / 60.0),
        blocking=services.shared_buckets,
    )
    if not verdict.allowed:
        page = _page(
            request,
            "login.html",
            429,
            user=None,
            next=target,
            error=f"Too many attempts. Try again in {verdict.retry_after} s.",
        )
        page.headers["Retry-After"] = str(verdict.retry_after)
        return page
    agent = await run_in_threadpool(_check_password, services, username.strip(), password)
    if agent is None:
        return _page(
            request,
            "login.html",
            401,
            user=None,
            next=target,
            error="Wrong username or password.",
        )
    sign_in(request, agent)
    return RedirectResponse(target, status_code=303)


def _check_password(services: Services, username: str, password: str) -> AgentRow | None:
    with services.sessions() as session, session.begin():
        return agent_for_password(session, agent_id=username, password=password)


def _safe_next(target: str) -> str:
    """Only a path on this site (never another site's address) after signing in."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console"


@router.post("/console/logout", dependencies=[allow(PUBLIC)])
def logout(request: Request, csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    """End the session (the form carries the CSRF token, so no other site can sign you out)."""
    if not csrf_matches(request, csrf_token):
        raise Problem(403, "The sign-out form needs the session's CSRF token.", kind="csrf")
    sign_out(request)
    return RedirectResponse("/console/login", status_code=303)


@router.get("/console", response_class=HTMLResponse)
def console(request: Request, services: ServicesDep, caller: StaffPage) -> HTMLResponse:
    """The agent console: the queue, the conversation with its packet, coaching."""
    user = _user(services, caller)
    known = getattr(services.engine.pipeline.analyzer, "intents", None)
    config = {
        "agent": user,
        "csrf_token": csrf_token(request),
        "intents": sorted(getattr(known, "intents", [])),
        "dispositions": list(DISPOSITIONS),
        "dashboard": caller.oversees,
    }
    return _page(request, "console.html", user=user, config=config)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, services: ServicesDep, caller: OverseerPage) -> HTMLResponse:
    """The supervisor dashboard: live queue and agents, the period's numbers and charts,
    the policy in force and its what-if comparison."""
    user = _user(services, caller)
    config = {"agent": user, "csrf_token": csrf_token(request), "charts": list(CHARTS)}
    return _page(request, "dashboard.html", user=user, config=config)


def sign_in_redirect(request: Request, error: SignInNeeded) -> Response:
    """Exception handler: staff pages send visitors to the sign-in page."""
    return RedirectResponse(
        f"/console/login?next={quote(error.next_path, safe='/')}", status_code=303
    )


def forbidden_page(request: Request, error: PageForbidden) -> Response:
    """Exception handler: a 403 page for staff without the page's role."""
    services: Services = request.app.state.services
    signed_in = session_agent_id(request)
    agent = _agent(services, signed_in[0]) if signed_in else None
    user = {"id": agent.id, "name": agent.name, "role": agent.role} if agent else None
    return _page(
        request,
        "error.html",
        403,
        user=user,
        status=403,
        title="Not for your role",
        detail=str(error),
    )
