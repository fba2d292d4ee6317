"""Shared fixtures: a fresh database per test on every storage backend (SQLite and a real
PostgreSQL cluster started for the session), the real pipeline, and the HTTP app."""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import uvicorn
from fastapi.testclient import TestClient

from helpers import make_test_settings
from pg import fresh_database, throwaway_cluster
from warmline.api.app import create_app
from warmline.api.services import Services
from warmline.bootstrap import build_pipeline, build_services, uvicorn_config
from warmline.config import Settings
from warmline.demo import load_demo_knowledge
from warmline.engine import Pipeline
from warmline.storage.db import make_engine, make_session_factory
from warmline.storage.migrate import upgrade
from warmline.understanding.encoder import get_encoder

BACKENDS = ("sqlite", "postgres")
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TEST_API_KEY = "test-api-key-0123456789"
_backend_results: dict[str, dict[str, int]] = {}


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database file, copied for each test."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    _with_demo_knowledge(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster with a migrated template database."""
    with throwaway_cluster() as admin_url:
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text("CREATE DATABASE warmline_template"))
        template_url = admin_url.rsplit("/", 1)[0] + "/warmline_template"
        upgrade(template_url)
        _with_demo_knowledge(template_url)
        admin.dispose()
        yield admin_url


def _with_demo_knowledge(url: str) -> None:
    """Every test database starts with the demo help centre, as `make run` does."""
    engine = make_engine(url)
    encoder = get_encoder()
    load_demo_knowledge(
        make_session_factory(engine), lambda texts: encoder.encode_uncached(list(texts))
    )
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The storage backend a test runs on (every DB test runs on both)."""
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database on the current backend."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "warmline.db"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    admin_url: str = request.getfixturevalue("postgres_server")
    with fresh_database(admin_url, template="warmline_template") as url:
        yield url


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    """The real pipeline with the shipped models (loaded once per test session); its demo
    backend and mail outbox live in a temporary directory."""
    return build_pipeline(Settings(_env_file=None, data_dir=tmp_path_factory.mktemp("pipeline")))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Test settings pointing at the fresh database."""
    return make_test_settings(database_url, tmp_path)


@pytest.fixture
def services(settings: Settings, pipeline: Pipeline) -> Iterator[Services]:
    """Services on the fresh database, built as the server builds them, sharing the
    session-wide pipeline."""
    built = build_services(settings, pipeline)
    yield built
    built.broadcast.close()
    built.sessions.kw["bind"].dispose()


@pytest.fixture
def client(settings: Settings, services: Services) -> Iterator[TestClient]:
    """An HTTP client for the app (in process)."""
    with TestClient(create_app(settings, services), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def server_url(settings: Settings, services: Services) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port for the duration of one test."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn_config(
            create_app(settings, services), host="127.0.0.1", port=port, settings=settings
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(1000):  # wait up to 10 s for the server to accept connections
        if server.started:
            break
        thread.join(0.01)
    assert server.started, "server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count results per storage backend, for the summary below."""
    if report.when != "call" and not (report.when == "setup" and report.outcome != "passed"):
        return
    for name in BACKENDS:
        if (
            f"[{name}" in report.nodeid
            or f"-{name}]" in report.nodeid
            or f"-{name}-" in report.nodeid
        ):
            counts = _backend_results.setdefault(name, {"passed": 0, "failed": 0, "skipped": 0})
            counts[report.outcome] = counts.get(report.outcome, 0) + 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Show that storage tests ran on SQLite and on PostgreSQL."""
    if not _backend_results:
        return
    terminalreporter.section("storage backends")
    for name, counts in sorted(_backend_results.items()):
        terminalreporter.write_line(
            f"{name}: {counts.get('passed', 0)} passed, {counts.get('failed', 0)} failed, "
            f"{counts.get('skipped', 0)} skipped"
        )
