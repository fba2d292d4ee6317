"""One typed settings object, read from `WARMLINE_*` environment variables (and `.env`).

Defaults give an embedded development setup (SQLite in ./var, a development API key). Outside
development (`test` included) the default secrets and weak ones are refused, so a forgotten
variable cannot ship.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_API_KEY = "dev-api-key-change-me"
DEVELOPMENT_SECRET = "dev-secret-change-me"
MIN_SECRET_CHARS = 16
MIN_DISTINCT_CHARS = 8


def weak_secret(value: str) -> str | None:
    """Why `value` is not good enough as a secret, or None if it is.

    Long enough, no whitespace (a pasted line break or 16 spaces is a mistake, not a key),
    and not one or two characters repeated.
    """
    if len(value) < MIN_SECRET_CHARS:
        return f"is shorter than {MIN_SECRET_CHARS} characters"
    if any(char.isspace() for char in value):
        return "contains whitespace"
    if not (value.isascii() and value.isprintable()):
        return "must be printable ASCII (an HTTP header could never carry it)"
    if len(set(value)) < MIN_DISTINCT_CHARS:
        return f"has fewer than {MIN_DISTINCT_CHARS} different characters"
    return None


_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")
SURVEY_QUESTIONS = ("csat", "nps", "felt_heard")


class Settings(BaseSettings):
    """Every setting warmline reads; documented in docs/configuration.md."""

    model_config = SettingsConfigDict(env_prefix="WARMLINE_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("var")
    database_url: str | None = None
    api_key: str = DEVELOPMENT_API_KEY
    secret_key: str = DEVELOPMENT_SECRET
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_message_chars: int = Field(default=10_000, ge=1)
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    policy_file: Path | None = None
    templates_dir: Path | None = None
    intent_model_dir: Path | None = None
    log_level: str = "INFO"
    keep_contact_details: bool = False
    # The survey sent when a conversation is resolved: any of csat, nps, felt_heard, comma
    # separated; empty sends none.
    survey: str = "csat,felt_heard"
    analyzer: Literal["models", "constant"] = "models"
    pipeline_threads: int = Field(default=4, ge=1, le=64)
    rate_limit_conversation_burst: int = Field(default=10, ge=1)
    rate_limit_conversation_per_second: float = Field(default=1.0, gt=0)
    rate_limit_client_burst: int = Field(default=200, ge=1)
    rate_limit_client_per_second: float = Field(default=20.0, gt=0)
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    max_connections: int = Field(default=2000, ge=10)
    database_retry_after_seconds: int = Field(default=2, ge=1)
    actions_file: Path | None = None
    # A business's own text rules (docs/lexicon.md): same id replaces a shipped rule, a new id
    # adds one, `enabled: false` removes one; an invalid file stops the start.
    lexicon_file: Path | None = None
    actions_enabled: bool = True
    demo_backend_url: str | None = None
    smtp_url: str | None = None
    smtp_password: str | None = None
    mail_from: str = "warmline@localhost"
    # The email channel (docs/email.md): an SMTP listener `serve` starts when the port is set,
    # and IMAP polling of a mailbox that cannot forward.
    email_inbound_port: int | None = Field(default=None, ge=1, le=65535)
    email_inbound_host: str = "127.0.0.1"
    email_max_message_bytes: int = Field(default=40_000_000, ge=64 * 1024)
    email_max_attachment_bytes: int = Field(default=10_000_000, ge=1)
    email_max_recipients: int = Field(default=100, ge=1, le=10_000)
    # The email outbox (docs/email.md, "When the relay is down"): the first retry after
    # `email_retry_seconds`, then twice as long each time up to `email_retry_max_seconds`; an
    # email not sent within `email_give_up_hours` of being queued is dead-lettered.
    email_retry_seconds: float = Field(default=30.0, gt=0, le=3600)
    email_retry_max_seconds: float = Field(default=3600.0, gt=0, le=86_400)
    email_give_up_hours: float = Field(default=24.0, gt=0, le=24 * 14)
    imap_url: str | None = None
    imap_password: SecretStr | None = None
    imap_poll_seconds: float = Field(default=60.0, ge=0.1, le=86_400)
    password_reset_url: str = "http://127.0.0.1:8000/reset?token={token}"
    identity_secret: str | None = None
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    llm_timeout_seconds: float = Field(default=8.0, gt=0, le=120)
    llm_json_mode: bool = True
    # Sites that may embed the chat widget (CSP frame-ancestors): space-separated origins such
    # as "https://www.example.com", or "*" for any site.
    widget_origins: str = "*"
    session_hours: float = Field(default=10.0, gt=0, le=24 * 30)
    login_attempts_per_minute: int = Field(default=5, ge=1, le=1000)
    webhooks_enabled: bool = True
    webhook_retry_seconds: float = Field(default=5.0, gt=0, le=3600)
    webhook_max_attempts: int = Field(default=12, ge=1, le=100)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # How often each server process records service level breaches; 0 leaves it to
    # `warmline sla check` (cron).
    sla_check_seconds: float = Field(default=30.0, ge=0, le=3600)
    # How often each server process closes the bot's quiet conversations (policy `closing`);
    # 0 leaves it to `warmline close-idle` (cron).
    idle_check_seconds: float = Field(default=60.0, ge=0, le=3600)
    # Chatwoot's agent bot (docs/chatwoot.md): all three set turns the integration on.
    chatwoot_url: str | None = None
    chatwoot_bot_token: SecretStr | None = None
    chatwoot_webhook_secret: SecretStr | None = None

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url_parses(cls, url: str | None) -> str | None:
        """A mail URL that cannot be used is refused at start, not at the first email."""
        if url and url.strip():
            from warmline.actions.mail import mailer_from_url

            mailer_from_url(url, sender="check@localhost", outbox=Path("."))
        return url

    @field_validator("email_inbound_port", "imap_url", mode="before")
    @classmethod
    def _blank_means_off(cls, value: object) -> object:
        """An empty line in a .env (`WARMLINE_IMAP_URL=`) means off, not an invalid value."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("imap_url")
    @classmethod
    def _imap_url_parses(cls, url: str | None) -> str | None:
        """An IMAP URL that cannot be used is refused at start, not at the first poll."""
        if url is not None:
            from warmline.channels.email.imap import parse_imap_url

            parse_imap_url(url)
        return url

    @field_validator("chatwoot_url")
    @classmethod
    def _chatwoot_url_usable(cls, url: str | None) -> str | None:
        """Chatwoot's base URL (http or https with a host); blank means off."""
        if url is None or not url.strip():
            return None
        if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[!-~]*)?", url.strip()):
            raise ValueError(f"{url!r} is not an http(s) URL such as https://chat.example.com")
        return url.strip().rstrip("/")

    @field_validator("widget_origins")
    @classmethod
    def _origins_are_origins(cls, value: str) -> str:
        """Each entry is "*" or a scheme://host[:port] origin, so the CSP header cannot be
        broken open by a stray ';' or a path."""
        origins = value.split()
        for origin in origins:
            if origin != "*" and not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"{origin!r} is not an origin (scheme://host[:port], e.g. "
                    "https://www.example.com) or *"
                )
        if not origins:
            raise ValueError("name at least one origin, or * for any site")
        return " ".join(origins)

    @field_validator("survey")
    @classmethod
    def _known_survey_questions(cls, value: str) -> str:
        asked = [part.strip() for part in value.split(",") if part.strip()]
        unknown = sorted(set(asked) - set(SURVEY_QUESTIONS))
        if unknown:
            raise ValueError(
                f"unknown survey question {', '.join(unknown)}; choose from "
                f"{', '.join(SURVEY_QUESTIONS)} (comma separated), or leave it empty for none"
            )
        return ",".join(dict.fromkeys(asked))

    @property
    def survey_questions(self) -> tuple[str, ...]:
        """The survey's questions in the order given (none when surveys are off)."""
        return tuple(part for part in self.survey.split(",") if part)

    @field_validator("llm_base_url", "llm_model")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        """`WARMLINE_LLM_BASE_URL=` (an empty line in a .env) means off, not an invalid URL."""
        if value is None:
            return None
        return value.strip() or None

    @field_validator("llm_base_url")
    @classmethod
    def _llm_url_usable(cls, url: str | None) -> str | None:
        """A URL the client could not call is refused at start, not at the first handoff."""
        if url is None:
            return None
        from warmline.handoff.llm import check_base_url

        return check_base_url(url)

    @field_validator("llm_api_key")
    @classmethod
    def _llm_key_fits_a_header(cls, key: SecretStr | None) -> SecretStr | None:
        """The key travels in an Authorization header: an empty one is no key, and a pasted
        line break would make every call fail."""
        if key is None or not key.get_secret_value():
            return None
        value = key.get_secret_value()
        if not (value.isascii() and value.isprintable()) or any(c.isspace() for c in value):
            raise ValueError("must be printable ASCII without whitespace")
        return key

    @model_validator(mode="after")
    def _llm_needs_url_and_model(self) -> Settings:
        """Half a configuration is a mistake: say so instead of silently staying offline."""
        if (self.llm_base_url is None) != (self.llm_model is None):
            given, missing = (
                ("WARMLINE_LLM_BASE_URL", "WARMLINE_LLM_MODEL")
                if self.llm_model is None
                else ("WARMLINE_LLM_MODEL", "WARMLINE_LLM_BASE_URL")
            )
            raise ValueError(
                f"{given} is set but {missing} is not: the LLM backend needs both "
                "(unset both to keep the offline summary)"
            )
        if self.env == "production" and self.llm_base_url and self.llm_api_key:
            from warmline.handoff.llm import sends_key_in_clear

            if sends_key_in_clear(self.llm_base_url):
                raise ValueError(
                    "WARMLINE_LLM_BASE_URL is plain http:// to another machine: the API key "
                    "would travel in clear; use https:// (plain http is fine on loopback)"
                )
        return self

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if self.env == "development":
            return self
        for name, value, default in (
            ("WARMLINE_API_KEY", self.api_key, DEVELOPMENT_API_KEY),
            ("WARMLINE_SECRET_KEY", self.secret_key, DEVELOPMENT_SECRET),
        ):
            problem = "is the development default" if value == default else weak_secret(value)
            if problem:
                raise ValueError(
                    f"{name} {problem}; outside development (WARMLINE_ENV={self.env}) it must "
                    f"be a secret of at least {MIN_SECRET_CHARS} characters without whitespace"
                )
        if self.identity_secret is not None and (problem := weak_secret(self.identity_secret)):
            raise ValueError(f"WARMLINE_IDENTITY_SECRET {problem}")
        if self.api_key == self.secret_key:
            raise ValueError(
                "WARMLINE_API_KEY and WARMLINE_SECRET_KEY must differ: whoever holds the API "
                "key could otherwise forge every customer's conversation token"
            )
        return self

    @property
    def resolved_demo_backend_url(self) -> str:
        """The demo backend's own database: explicit, or SQLite inside the data directory."""
        if self.demo_backend_url:
            return self.demo_backend_url
        return f"sqlite:///{(self.data_dir / 'demo-backend.db').resolve()}"

    @property
    def resolved_database_url(self) -> str:
        """The database URL: explicit, or SQLite inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'warmline.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
