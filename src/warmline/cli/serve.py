"""`warmline serve`, `warmline version`, `warmline db upgrade`, `warmline demo load`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from warmline.cli.app import app, db_app

if TYPE_CHECKING:
    from warmline.api.services import Services
    from warmline.channels.email.runtime import EmailChannel
    from warmline.config import Settings
    from warmline.demo import DemoAgent


@app.command()
def version() -> None:
    """Print the warmline version."""
    from warmline import __version__

    typer.echo(__version__)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply database migrations (SQLite by default, PostgreSQL via WARMLINE_DATABASE_URL)."""
    from warmline.config import get_settings
    from warmline.storage.migrate import upgrade

    settings = get_settings()
    upgrade(settings.resolved_database_url, revision)
    typer.echo(
        f"database at {_safe_url(settings.resolved_database_url)} is at {revision}", err=True
    )


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Address to listen on (default 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default 8000)."),
    demo: bool = typer.Option(False, help="Migrate and load demo data first (development)."),
    workers: int = typer.Option(
        1,
        min=1,
        max=64,
        help="Worker processes (uvicorn's process manager). PostgreSQL only: SQLite is the "
        "embedded single-process store.",
    ),
) -> None:
    """Start the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    from warmline.api.app import create_app
    from warmline.bootstrap import (
        build_services,
        configure_logging,
        limit_malloc_arenas,
        raise_file_limit,
        record_policy_file,
        uvicorn_config,
        uvicorn_options,
    )
    from warmline.config import get_settings
    from warmline.storage.db import is_sqlite

    settings = get_settings()
    configure_logging(settings.log_level)
    if workers > 1 and is_sqlite(settings.resolved_database_url):
        raise _fail(
            "--workers above 1 needs PostgreSQL (set WARMLINE_DATABASE_URL): SQLite is the "
            "embedded store for one process"
        )
    if settings.actions_enabled and settings.actions_file:
        from warmline.actions.loader import load_actions

        load_actions(settings.actions_file)  # refused here, with file and line, not in a worker
    if settings.lexicon_file:
        from warmline.understanding.lexicon import install

        install(settings.lexicon_file)  # the same for the business's text rules
    raise_file_limit(settings.max_connections + 256)  # connections, the database, the models
    limit_malloc_arenas()
    host = host or settings.host
    port = port or settings.port
    agents = _prepare_demo(settings) if demo else []
    base = f"http://{host}:{port}"
    typer.echo(f"warmline is starting on {base}", err=True)
    typer.echo(f"  console:      {base}/console  (dashboard: {base}/dashboard)", err=True)
    typer.echo(f"  chat widget:  {base}/demo  (embed: {base}/widget.js)", err=True)
    typer.echo(f"  API docs:     {base}/docs", err=True)
    typer.echo(f"  health:       {base}/healthz", err=True)
    for agent in agents:
        typer.echo(
            f"  agent:        {agent.id} ({agent.role}, {agent.seniority}) "
            f"password {agent.password}, token {agent.token}",
            err=True,
        )
    typer.echo(f"  database:     {_safe_url(settings.resolved_database_url)}", err=True)
    if settings.actions_enabled:
        typer.echo(f"  actions:      {settings.actions_file or 'the default pack'}", err=True)
        if not settings.smtp_url:
            outbox = (settings.data_dir / "outbox").resolve()
            typer.echo(f"  emails:       written to {outbox} (no SMTP server set)", err=True)
        if demo:
            typer.echo(
                '  try:          ana@example.com asks "where is my order 51877?" '
                "(docs/demo-backend.md)",
                err=True,
            )
    if workers > 1:
        from warmline.api.monitoring import prepare_multiprocess

        prepare_multiprocess(settings.data_dir)  # metrics summed over the workers at /metrics
        typer.echo(f"  workers:      {workers}", err=True)
        policy = record_policy_file(settings)  # every worker, now or restarted, runs this one
        typer.echo(f"  policy:       {policy.label}", err=True)
        # Email comes in here, in this process, once (the workers serve HTTP).
        email = _start_email(settings, None)
        try:
            # uvicorn's process manager; each worker builds its own app from the environment.
            uvicorn.run(
                "warmline.api.app:worker_app",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                **uvicorn_options(settings),
            )
        finally:
            if email is not None:
                email.stop()
        return
    services = build_services(settings)
    email = _start_email(settings, services)
    try:
        uvicorn.Server(
            uvicorn_config(create_app(settings, services), host=host, port=port, settings=settings)
        ).run()
    finally:
        if email is not None:
            email.stop()


def _start_email(settings: Settings, services: Services | None) -> EmailChannel | None:
    """The email channel, when the settings ask for it (docs/email.md): in the server's
    process with its services, or (with several workers) with services of its own that run
    the policy in force."""
    from warmline.channels.email.runtime import email_wanted, start_email

    if not email_wanted(settings):
        return None
    if services is None:
        from warmline.bootstrap import adopt_stored_policy, build_services, follow_policy_reloads

        services = build_services(settings)
        adopt_stored_policy(services)
        follow_policy_reloads(services)
    try:
        channel = start_email(services)
    except (ValueError, OSError) as error:
        raise _fail(f"email: {error}") from None
    typer.echo(f"  email in:     {'; '.join(channel.descriptions)}", err=True)
    return channel


def _prepare_demo(settings: Settings) -> list[DemoAgent]:
    from warmline.demo import load_demo_data, load_demo_knowledge
    from warmline.storage.db import make_engine, make_session_factory
    from warmline.storage.migrate import upgrade
    from warmline.understanding.encoder import get_encoder

    if settings.env != "development":
        raise _fail("--demo loads fixed agent tokens and is only allowed in development")
    upgrade(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    sessions = make_session_factory(engine)
    with sessions() as session, session.begin():
        agents = load_demo_data(session)
    encoder = get_encoder()
    report = load_demo_knowledge(sessions, lambda texts: encoder.encode_uncached(list(texts)))
    typer.echo(f"  demo help centre: {report.sections} sections", err=True)
    engine.dispose()
    return agents


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def _safe_url(url: str) -> str:
    """The URL without its password, for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
