"""Builds the running system from settings: database, models, policy, engine."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from warmline.api.services import Services
from warmline.automation.answers import DEFAULT_ANSWERS, AnswerBook
from warmline.automation.composer import ReplyComposer
from warmline.config import Settings
from warmline.engine import Engine, Pipeline
from warmline.policy.policy import Policy
from warmline.redaction import RedactingFilter
from warmline.storage.db import make_engine, make_session_factory
from warmline.understanding.analyzer import DefaultAnalyzer

log = logging.getLogger(__name__)


def build_pipeline(settings: Settings) -> Pipeline:
    """The message pipeline with the configured models, policy and answers."""
    analyzer = DefaultAnalyzer.load(intent_model_dir=settings.intent_model_dir)
    answers = AnswerBook.load(settings.answers_file or DEFAULT_ANSWERS)
    return Pipeline(analyzer=analyzer, policy=Policy(), composer=ReplyComposer(answers=answers))


def build_engine(settings: Settings, sessions: sessionmaker[Session]) -> Engine:
    """The engine: the pipeline plus the store."""
    return Engine(sessions=sessions, pipeline=build_pipeline(settings))


def build_services(settings: Settings) -> Services:
    """Everything the API needs, sharing one connection pool."""
    sessions = make_session_factory(make_engine(settings.resolved_database_url))
    return Services(settings=settings, sessions=sessions, engine=build_engine(settings, sessions))


def configure_logging(level: str = "INFO") -> None:
    """Log to stderr with personal data redacted from every record."""
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
