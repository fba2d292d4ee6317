"""The FastAPI application: routers, problem+json errors, bounded bodies, OpenAPI at /docs."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fastapi import FastAPI, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware

from warmline import __version__
from warmline.api import (
    admin,
    agents,
    calls,
    chatwoot,
    conversations,
    customers,
    dashboard,
    email_outbox,
    exports,
    knowledge,
    live,
    packets,
    webhooks,
    widget,
)
from warmline.api.access import OVERSIGHT, PUBLIC, allow
from warmline.api.limits import BodySizeLimit, ClientRateLimit
from warmline.api.monitoring import CONTENT_TYPE, QueueCollector, RequestTimer, render
from warmline.api.openapi import install_openapi, problems
from warmline.api.problems import SafeJSONResponse, install_problem_handlers
from warmline.api.services import Services
from warmline.automation.idle import IdleCloser
from warmline.bootstrap import (
    adopt_stored_policy,
    build_services,
    follow_policy_reloads,
    publish_policy,
    reload_everywhere,
)
from warmline.config import Settings, get_settings
from warmline.handoff.sla import SlaWatch
from warmline.outbound.webhooks import WebhookDispatcher

if TYPE_CHECKING:
    from warmline.channels.email.outbox import EmailSender
from warmline.policy.loader import PolicyError
from warmline.storage.broadcast import EVENTS, TYPING
from warmline.storage.conversations import queue_waits
from warmline.web import pages
from warmline.web.security import SecurityHeaders
from warmline.web.sessions import SESSION_COOKIE, session_key

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None, services: Services | None = None, *, worker: bool = False
) -> FastAPI:
    """Build the app; services (database, models) are built once, before the first request.

    A worker of `serve --workers` runs the policy in force (recorded by the server before it
    started its workers, or by the last reload); a single process makes its policy file the
    one in force."""
    settings = settings or get_settings()
    built = services or build_services(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = built
        if not (worker and adopt_stored_policy(built)):
            publish_policy(built.sessions, built.engine.pipeline.policy)
        _reload_on_sighup(built)
        built.watchers.attach(asyncio.get_running_loop())
        built.broadcast.subscribe(EVENTS, built.watchers.notice)
        built.broadcast.subscribe(TYPING, built.watchers.typing_notice)
        follow_policy_reloads(built)
        dispatcher = _webhooks(built)
        emails = _email_sender(built)
        sla = _sla_watch(built)
        idle = _idle_closer(built)
        yield
        if idle is not None:
            idle.stop()
        if sla is not None:
            sla.stop()
        if emails is not None:
            emails.stop()
        if dispatcher is not None:
            dispatcher.stop()
        built.broadcast.close()

    app = FastAPI(
        title="warmline",
        version=__version__,
        description="Customer-service engine: AI does the routine work, people get the "
        "conversations that need empathy or judgement.",
        lifespan=lifespan,
        default_response_class=SafeJSONResponse,
    )
    app.state.services = built
    install_problem_handlers(app, retry_after=settings.database_retry_after_seconds)
    install_openapi(
        app,
        max_message_chars=settings.max_message_chars,
        teams=lambda: list(built.engine.pipeline.policy.config.teams),
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_key(settings.secret_key),
        session_cookie=SESSION_COOKIE,
        max_age=int(settings.session_hours * 3600),
        same_site="strict",
        https_only=settings.env == "production",
    )
    app.add_middleware(SecurityHeaders, widget_origins=settings.widget_origins)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        timeout=settings.body_timeout_seconds,
        larger={calls.PATH: max(settings.max_body_bytes, calls.MAX_CALL_BODY_BYTES)},
    )
    app.add_middleware(RequestTimer)
    app.add_middleware(ClientRateLimit)  # outermost: a flood is refused before its body is read
    app.include_router(conversations.router)
    app.include_router(agents.router)
    app.include_router(packets.router)
    app.include_router(exports.router)
    app.include_router(admin.router)
    app.include_router(calls.router)
    app.include_router(customers.router)
    app.include_router(knowledge.router)
    app.include_router(live.router)
    app.include_router(widget.router)
    app.include_router(dashboard.router)
    app.include_router(webhooks.router)
    app.include_router(email_outbox.router)
    app.include_router(chatwoot.router)
    app.include_router(pages.router)
    app.add_exception_handler(pages.SignInNeeded, pages.sign_in_redirect)  # type: ignore[arg-type]
    app.add_exception_handler(pages.PageForbidden, pages.forbidden_page)  # type: ignore[arg-type]
    app.mount(
        pages.STATIC_URL,
        GZipMiddleware(StaticFiles(directory=pages.STATIC), minimum_size=500),
        name="static",
    )

    queue = QueueCollector(lambda: _queue_now(built))

    @app.get(
        "/metrics",
        tags=["ops"],
        dependencies=[allow(OVERSIGHT)],
        response_class=Response,
        responses={**problems(), 200: {"content": {CONTENT_TYPE: {}}}},
    )
    def metrics() -> Response:
        """Prometheus metrics (supervisors' tokens and the API key): request latency,
        decisions by action, escalations by reason, the queue; summed over the workers."""
        return Response(render(queue), media_type=CONTENT_TYPE)

    @app.get("/healthz", tags=["ops"], dependencies=[allow(PUBLIC)])
    def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok", "version": __version__}

    return app


def _webhooks(services: Services) -> WebhookDispatcher | None:
    """Deliver outbound webhooks from this process (each worker takes its share)."""
    if not services.settings.webhooks_enabled:
        return None
    dispatcher = WebhookDispatcher(services.sessions, services.settings, services.reading)
    services.broadcast.subscribe(EVENTS, dispatcher.wake)
    dispatcher.start()
    return dispatcher


def _email_sender(services: Services) -> EmailSender | None:
    """Retry the email outbox from this process (each worker takes its share), when the
    email channel is on (docs/email.md)."""
    from warmline.channels.email.outbox import EmailSender
    from warmline.channels.email.runtime import email_wanted

    if not email_wanted(services.settings):
        return None
    sender = EmailSender(services)
    sender.start()
    return sender


def _idle_closer(services: Services) -> IdleCloser | None:
    """Close the bot's conversations once the customer has gone quiet (each process looks; a
    conversation is locked while one closes it)."""
    if not services.settings.idle_check_seconds:
        return None
    closer = IdleCloser(
        services.sessions,
        services.reading,
        lambda: services.engine.pipeline.policy.config.closing,
        interval=services.settings.idle_check_seconds,
    )
    closer.start()
    return closer


def _sla_watch(services: Services) -> SlaWatch | None:
    """Record service level breaches as they fall due (each process checks; a conversation is
    locked while one records it)."""
    if not services.settings.sla_check_seconds:
        return None
    watch = SlaWatch(
        services.sessions,
        services.reading,
        lambda: services.engine.pipeline.policy.config,
        interval=services.settings.sla_check_seconds,
    )
    watch.start()
    return watch


def _queue_now(services: Services) -> tuple[int, float, float]:
    with services.reading() as session:
        return queue_waits(session, now=datetime.now(UTC))


def worker_app() -> FastAPI:
    """The app of one worker process of `warmline serve --workers N` (uvicorn calls it in each
    worker): settings from the environment, logging redacted like the parent's."""
    from warmline.bootstrap import configure_logging, limit_malloc_arenas

    settings = get_settings()
    configure_logging(settings.log_level)
    limit_malloc_arenas()
    return create_app(settings, worker=True)


def _reload_on_sighup(services: Services) -> None:
    """`kill -HUP` of this process reloads the policy file in every process (as the reload
    endpoint does); an invalid file is logged and the previous policy stays. Only possible in
    the main thread's event loop (not under test clients)."""

    def reload() -> None:
        try:
            reload_everywhere(services)
        except PolicyError as error:
            log.error(
                "policy reload refused, keeping %s:\n%s",
                services.engine.pipeline.policy.label,
                error,
            )

    try:
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reload)
    except (NotImplementedError, RuntimeError, ValueError, AttributeError):
        log.debug("SIGHUP policy reload not available in this process")
