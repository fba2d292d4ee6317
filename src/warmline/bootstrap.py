"""Builds the running system from settings: database, models, policy, engine."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, TextIO

from sqlalchemy import Engine as SqlEngine
from sqlalchemy.orm import Session, sessionmaker

from warmline.actions.runtime import build_desk
from warmline.api.services import Services
from warmline.automation.composer import ReplyComposer
from warmline.automation.knowledge.service import KnowledgeBase
from warmline.automation.phrasing import Phrasing
from warmline.config import Settings
from warmline.engine import Analyzer, Engine, Pipeline
from warmline.policy.policy import Policy, load_policy
from warmline.redaction import RedactingFilter
from warmline.storage import policies
from warmline.storage.broadcast import EVENTS, POLICY, make_broadcast
from warmline.storage.db import make_engine, make_reader_factory, make_session_factory
from warmline.storage.ratelimits import Buckets, MemoryBuckets, PostgresBuckets
from warmline.understanding.analyzer import DefaultAnalyzer
from warmline.understanding.constant import ConstantAnalyzer
from warmline.understanding.intents.data import OOS_LABEL

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger(__name__)


def build_pipeline(settings: Settings, *, actions: bool = True) -> Pipeline:
    """The message pipeline with the configured models, policy and answers, and (unless
    `actions` is False, as in replays, which must not book or send anything) the routine
    actions with their connectors."""
    use_lexicon(settings)
    analyzer: Analyzer = (
        ConstantAnalyzer()
        if settings.analyzer == "constant"
        else DefaultAnalyzer.load(intent_model_dir=settings.intent_model_dir)
    )
    policy = load_policy(settings.policy_file, intents_of(analyzer))
    composer = ReplyComposer(Phrasing.load(settings.templates_dir))
    embed_query = (
        analyzer.encoder.encode_one if isinstance(analyzer, DefaultAnalyzer) else lambda _t: None
    )
    knowledge = KnowledgeBase(embed_query=embed_query)
    desk = (
        build_desk(
            settings,
            embed=analyzer.encoder.encode,
            embed_one=analyzer.encoder.encode_one,
            known_word=analyzer.encoder.knows_word,
        )
        if actions and isinstance(analyzer, DefaultAnalyzer)
        else None
    )
    return Pipeline(
        analyzer=analyzer, policy=policy, composer=composer, knowledge=knowledge, actions=desk
    )


def use_lexicon(settings: Settings) -> None:
    """Put the text rules in force: the shipped pack changed by `WARMLINE_LEXICON_FILE`. An
    invalid file raises `LexiconError` (file, line, field) and changes nothing; the default
    policy is read again, since its sensitive topics come from the pack."""
    from warmline.policy.loader import default_config
    from warmline.understanding.lexicon import install

    install(settings.lexicon_file)
    default_config.cache_clear()


def intents_of(analyzer: Analyzer) -> list[str] | None:
    """The intents the analyzer's model knows (a policy may name only these), or None when
    it has no intent model (the constant analyzer of load tests)."""
    model = getattr(analyzer, "intents", None)
    names = getattr(model, "intents", None)
    return [*names, OOS_LABEL] if names is not None else None


def known_intents(settings: Settings) -> list[str] | None:
    """The intents of the configured intent model, read without loading the encoder."""
    if settings.analyzer == "constant":
        return None
    from warmline.understanding.intents import IntentClassifier, load_default_classifier

    model = (
        IntentClassifier.load(settings.intent_model_dir)
        if settings.intent_model_dir is not None
        else load_default_classifier()
    )
    return [*model.intents, OOS_LABEL]


def reload_policy(pipeline: Pipeline, settings: Settings) -> Policy:
    """Load the policy file again and swap it in; on any error (`PolicyError`) the running
    pipeline keeps its previous policy. Messages in flight finish with the policy they started
    with."""
    policy = load_policy(settings.policy_file, intents_of(pipeline.analyzer))
    pipeline.policy = policy
    log.info("policy reloaded: %s from %s", policy.label, policy.source)
    return policy


def publish_policy(sessions: sessionmaker[Session], policy: Policy) -> None:
    """Record `policy` as the one in force (a server starting from its file, or a reload)."""
    with sessions() as session, session.begin():
        policies.record(
            session,
            label=policy.label,
            source=policy.source,
            config=policy.config.model_dump_json(),
        )


def record_policy_file(settings: Settings) -> Policy:
    """What `warmline serve --workers N` does before starting its workers: validate the
    policy file and make it the policy in force (an invalid file stops the start, as does an
    invalid lexicon file)."""
    use_lexicon(settings)
    policy = load_policy(settings.policy_file, known_intents(settings))
    database = make_engine(settings.resolved_database_url)
    publish_policy(make_session_factory(database), policy)
    database.dispose()
    return policy


def adopt_stored_policy(services: Services) -> bool:
    """Run the policy in force (a worker starting, or told of a reload); False when none is
    recorded yet."""
    with services.reading() as session:
        stored = policies.current(session)
    if stored is None:
        return False
    if stored.label != services.engine.pipeline.policy.label:
        services.engine.pipeline.policy = Policy.from_stored(stored.config, stored.source)
        log.info("policy in force adopted: %s from %s", stored.label, stored.source)
    return True


def reload_everywhere(services: Services) -> Policy:
    """Read the policy file again and make it the policy in force in every process; on a
    `PolicyError` nothing changes anywhere."""
    policy = reload_policy(services.engine.pipeline, services.settings)
    publish_policy(services.sessions, policy)
    services.broadcast.publish(POLICY, policy.label)
    return policy


def follow_policy_reloads(services: Services) -> None:
    """Whenever another process announces a reload, take the policy it stored (never the file
    as it is now: someone may have edited it since)."""

    def reloaded_elsewhere(label: str) -> None:
        if label != services.engine.pipeline.policy.label:
            adopt_stored_policy(services)

    services.broadcast.subscribe(POLICY, reloaded_elsewhere)


def build_engine(
    settings: Settings,
    sessions: sessionmaker[Session],
    readers: sessionmaker[Session] | None = None,
    pipeline: Pipeline | None = None,
) -> Engine:
    """The engine: the pipeline plus the store, and the knowledge base stored there (this
    engine's own, kept in step with the database; the pipeline may be shared). Every append
    in this process also keeps the conversation's metrics row (`conversation_facts`)."""
    from warmline.analytics.metrics import facts_record
    from warmline.storage.conversations import keep_facts_with

    keep_facts_with(facts_record)
    pipeline = pipeline or build_pipeline(settings)
    embed = pipeline.knowledge.embed_query if pipeline.knowledge else lambda _t: None
    knowledge = KnowledgeBase(readers=readers or sessions, embed_query=embed)
    knowledge.refresh(force=True)
    return Engine(sessions=sessions, pipeline=pipeline, readers=readers, knowledge=knowledge)


def build_services(settings: Settings, pipeline: Pipeline | None = None) -> Services:
    """Everything the API needs, sharing one connection pool (and `pipeline`, if given, for
    several apps in one process)."""
    database = make_engine(settings.resolved_database_url)
    broadcast = make_broadcast(database)
    sessions = make_session_factory(
        database,
        keep_contact_details=settings.keep_contact_details,
        announce=lambda session, conversation_id, seq: broadcast.publish_in(
            session, EVENTS, f"{conversation_id}:{seq}"
        ),
    )
    readers = make_reader_factory(database)
    return Services(
        settings=settings,
        sessions=sessions,
        engine=build_engine(settings, sessions, readers, pipeline),
        readers=readers,
        buckets=rate_buckets(database),
        broadcast=broadcast,
    )


def rate_buckets(database: SqlEngine) -> Buckets:
    """Rate-limit buckets: shared in PostgreSQL by every worker, in memory for SQLite (one
    process)."""
    if database.dialect.name == "postgresql":
        return PostgresBuckets(database)
    return MemoryBuckets()


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


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How warmline runs under uvicorn.

    - `log_config=None` leaves logging to `configure_logging`, so uvicorn's own records
      ("Exception in ASGI application" and its traceback) pass through the redacting handler.
    - The HTTP protocol closes connections that do not send their headers in time, and a
      process holds at most `max_connections` (new requests beyond get 503 at once).
    - uvloop and httptools, the fast event loop and parser.
    """
    from warmline.api.protocol import GuardedHttpToolsProtocol

    return {
        "log_level": "warning",
        "log_config": None,
        "http": GuardedHttpToolsProtocol,
        "loop": "uvloop",
        "limit_concurrency": settings.max_connections,
        "timeout_keep_alive": 5,
        # Live streams last up to a minute; on shutdown they are cut after this many seconds
        # (their browsers reconnect to the next process) instead of holding the stop.
        "timeout_graceful_shutdown": 5,
    }


def uvicorn_config(
    app: Any, *, host: str, port: int, settings: Settings, **options: Any
) -> uvicorn.Config:
    """A uvicorn config for one process serving `app` (see `uvicorn_options`)."""
    import uvicorn

    from warmline.api.protocol import protocol_with_timeout

    chosen = {
        **uvicorn_options(settings),
        "http": protocol_with_timeout(settings.header_timeout_seconds),
        **options,
    }
    return uvicorn.Config(app, host=host, port=port, **chosen)


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas. By default every thread may get its own (up to eight per
    core), and a threaded server's resident memory creeps up as each arena keeps its free
    pages; two arenas keep it flat at no measurable cost. No-op off glibc."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(-8, arenas))  # M_ARENA_MAX
    except (OSError, AttributeError):
        return False


def raise_file_limit(wanted: int) -> int:
    """Let this process hold `wanted` open files (connections) if the hard limit allows."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return int(soft)
