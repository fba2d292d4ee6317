"""Builds the running system from settings: database, models, policy, engine."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, TextIO

from sqlalchemy.orm import Session, sessionmaker

from warmline.api.services import Services
from warmline.automation.answers import DEFAULT_ANSWERS, AnswerBook
from warmline.automation.composer import ReplyComposer
from warmline.config import Settings
from warmline.engine import Engine, Pipeline
from warmline.policy.policy import Policy, load_policy
from warmline.redaction import RedactingFilter
from warmline.storage.db import make_engine, make_reader_factory, make_session_factory
from warmline.understanding.analyzer import DefaultAnalyzer

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger(__name__)


def build_pipeline(settings: Settings) -> Pipeline:
    """The message pipeline with the configured models, policy and answers."""
    analyzer = DefaultAnalyzer.load(intent_model_dir=settings.intent_model_dir)
    answers = AnswerBook.load(settings.answers_file or DEFAULT_ANSWERS)
    policy = load_policy(settings.policy_file)
    return Pipeline(analyzer=analyzer, policy=policy, composer=ReplyComposer(answers=answers))


def reload_policy(pipeline: Pipeline, settings: Settings) -> Policy:
    """Load the policy file again and swap it in; on any error (`PolicyError`) the running
    pipeline keeps its previous policy. Messages in flight finish with the policy they started
    with."""
    policy = load_policy(settings.policy_file)
    pipeline.policy = policy
    log.info("policy reloaded: %s from %s", policy.label, policy.source)
    return policy


def build_engine(
    settings: Settings,
    sessions: sessionmaker[Session],
    readers: sessionmaker[Session] | None = None,
) -> Engine:
    """The engine: the pipeline plus the store."""
    return Engine(sessions=sessions, pipeline=build_pipeline(settings), readers=readers)


def build_services(settings: Settings) -> Services:
    """Everything the API needs, sharing one connection pool."""
    database = make_engine(settings.resolved_database_url)
    sessions = make_session_factory(database, keep_contact_details=settings.keep_contact_details)
    readers = make_reader_factory(database)
    return Services(
        settings=settings,
        sessions=sessions,
        engine=build_engine(settings, sessions, readers),
        readers=readers,
    )


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Log to stderr (or `stream`) with personal data redacted from every record, uvicorn's
    and SQLAlchemy's included: they log through the root logger (see `uvicorn_config`)."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "sqlalchemy"):
        # A logger with its own handlers (uvicorn's default config) would bypass redaction.
        library = logging.getLogger(name)
        library.handlers.clear()
        library.propagate = True


def uvicorn_config(app: Any, *, host: str, port: int, **options: Any) -> uvicorn.Config:
    """How warmline runs under uvicorn. `log_config=None` leaves logging to
    `configure_logging`, so uvicorn's own records ("Exception in ASGI application" and its
    traceback) pass through the redacting handler instead of uvicorn's unfiltered one."""
    import uvicorn

    return uvicorn.Config(
        app, host=host, port=port, log_level="warning", log_config=None, **options
    )
