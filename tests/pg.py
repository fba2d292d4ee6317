"""A throwaway PostgreSQL cluster on loopback for the test session (Debian's postgresql).

The cluster lives in a temporary directory, listens on 127.0.0.1 on a free port, and is
stopped and deleted at the end. As root, the server runs as the `postgres` system user,
since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries are not installed."""


def find_bindir() -> Path:
    """The newest installed PostgreSQL server bin directory."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if not candidates:
        found = shutil.which("initdb")
        if found is None:
            raise PostgresUnavailable(
                "PostgreSQL server binaries (initdb) not found: install Debian's `postgresql` "
                "package (make test does this itself when run as root with apt)"
            )
        return Path(found).parent
    return Path(candidates[0]).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


class ThrowawayCluster:
    """A PostgreSQL cluster in a temporary directory, on a free loopback port; it can be
    stopped hard and started again (to test what happens when the database goes away)."""

    def __init__(self, *, durable: bool = False) -> None:
        # Not durable (the default): fsync and synchronous commit off, fast for tests whose
        # cluster never crashes. Durable: a commit that was acknowledged survives a crash.
        self.durable = durable
        self.bindir = find_bindir()
        self.root = Path(tempfile.mkdtemp(prefix="warmline-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        if os.geteuid() == 0:
            shutil.chown(self.root, user="postgres")
        subprocess.run(
            _as_server_user(
                [
                    str(self.bindir / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "warmline",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )

    @property
    def url(self) -> str:
        """A SQLAlchemy URL of the `postgres` database, as superuser."""
        return f"postgresql+psycopg://warmline@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        speed = "" if self.durable else "-c fsync=off -c synchronous_commit=off "
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.root} {speed}"
            "-c full_page_writes=off -c max_connections=300"
        )
        subprocess.run(
            _as_server_user(
                [
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-o",
                    options,
                    "-l",
                    str(self.root / "log"),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        """Stop at once, as a crash would (no checkpoint, connections cut)."""
        subprocess.run(
            _as_server_user(
                [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]
            ),
            check=False,
            capture_output=True,
        )

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[str]:
    """Start a cluster; yield a SQLAlchemy URL of its `postgres` database as superuser."""
    cluster = ThrowawayCluster()
    cluster.start()
    try:
        yield cluster.url
    finally:
        cluster.remove()


@contextlib.contextmanager
def fresh_database(admin_url: str, *, template: str | None = None) -> Iterator[str]:
    """A new database on the cluster of `admin_url` (a copy of `template`, or empty), dropped
    afterwards; yields its URL."""
    import uuid

    import sqlalchemy as sa

    name = f"t_{uuid.uuid4().hex[:12]}"
    copy = f" TEMPLATE {template}" if template else ""
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {name}{copy}"))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
