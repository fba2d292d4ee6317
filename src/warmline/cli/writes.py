"""What the maintenance commands run from cron share: the policy in force and one write
transaction on the configured database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from warmline.policy.policy import Policy


@contextmanager
def policy_and_transaction() -> Iterator[tuple[Policy, Session]]:
    """The policy in force, as the servers run it (the one last reloaded, stored in the
    database), else the policy file (an invalid one exits with code 2, naming file, line and
    field); and a session in a transaction, committed when the block ends."""
    from warmline.config import get_settings
    from warmline.policy.loader import PolicyError
    from warmline.policy.policy import Policy, load_policy
    from warmline.storage import policies
    from warmline.storage.db import make_engine, make_session_factory

    settings = get_settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        sessions = make_session_factory(engine)
        with sessions() as session:
            stored = policies.current(session)
        if stored is not None:
            policy = Policy.from_stored(stored.config, stored.source)
        else:
            try:
                policy = load_policy(settings.policy_file)
            except PolicyError as error:
                typer.echo(f"error: invalid policy:\n{error}", err=True)
                raise typer.Exit(code=2) from None
        with sessions() as session, session.begin():
            yield policy, session
    finally:
        engine.dispose()
