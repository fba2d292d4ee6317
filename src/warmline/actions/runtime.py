"""Builds the action desk from settings: the actions file, its connectors (the built-in demo
backend and the file's HTTP connectors) and the mailer for codes and reset links."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from warmline.actions.connectors.base import Connector
from warmline.actions.connectors.demo.backend import create_demo_backend
from warmline.actions.connectors.http import HttpConnector, HttpConnectorConfig
from warmline.actions.desk import ActionDesk
from warmline.actions.loader import default_actions, load_actions
from warmline.actions.mail import Mailer, mailer_from_url
from warmline.actions.spec import ActionsFile
from warmline.config import Settings

log = logging.getLogger(__name__)


def build_mailer(settings: Settings) -> Mailer:
    """SMTP when `WARMLINE_SMTP_URL` is set; in development, else, an outbox directory of
    .eml files (var/outbox) so the quick start sends its codes somewhere you can read."""
    if not settings.smtp_url and settings.env == "production":
        log.warning("WARMLINE_SMTP_URL is not set: emails are written to the outbox directory")
    return mailer_from_url(
        settings.smtp_url,
        sender=settings.mail_from,
        outbox=settings.data_dir / "outbox",
        password=settings.smtp_password,
    )


def build_connectors(
    actions: ActionsFile, settings: Settings, mailer: Mailer
) -> dict[str, Connector]:
    """The demo backend (its own database) and every HTTP connector the file names."""
    if not settings.demo_backend_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    connectors: dict[str, Connector] = {
        "demo": create_demo_backend(
            settings.resolved_demo_backend_url, mailer, reset_url=settings.password_reset_url
        )
    }
    for name, raw in actions.raw_connectors().items():
        connectors[name] = HttpConnector(name, HttpConnectorConfig.model_validate(raw))
    return connectors


def build_desk(
    settings: Settings,
    *,
    embed: Callable[[list[str]], np.ndarray],
    embed_one: Callable[[str], np.ndarray | None],
    known_word: Callable[[str], bool] | None = None,
) -> ActionDesk | None:
    """The desk, or None when actions are switched off (`WARMLINE_ACTIONS_ENABLED=false`)."""
    if not settings.actions_enabled:
        return None
    actions = load_actions(settings.actions_file) if settings.actions_file else default_actions()
    mailer = build_mailer(settings)
    return ActionDesk(
        actions,
        build_connectors(actions, settings, mailer),
        embed=embed,
        embed_one=embed_one,
        mailer=mailer,
        secret=settings.secret_key,
        known_word=known_word,
    )
