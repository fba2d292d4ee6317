"""The FastAPI application: routers, problem+json errors, bounded bodies, OpenAPI at /docs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from warmline import __version__
from warmline.api import agents, conversations
from warmline.api.limits import BodySizeLimit
from warmline.api.problems import install_problem_handlers
from warmline.api.services import Services
from warmline.bootstrap import build_services
from warmline.config import Settings, get_settings


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """Build the app; services (database, models) are built once, before the first request."""
    settings = settings or get_settings()
    built = services or build_services(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = built
        yield

    app = FastAPI(
        title="warmline",
        version=__version__,
        description="Customer-service engine: AI does the routine work, people get the "
        "conversations that need empathy or judgement.",
        lifespan=lifespan,
    )
    app.state.services = built
    install_problem_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.include_router(conversations.router)
    app.include_router(agents.router)

    @app.get("/healthz", tags=["ops"])
    def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok", "version": __version__}

    return app
