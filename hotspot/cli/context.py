"""What every `hotspot` command shares: the settings, read once and lazily, a transaction, and
running what an operator's change left for after its commit, as the API does."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
import psycopg
import redis
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from hotspot.adapters import db
from hotspot.core.settings import Settings
from hotspot.operators.actor import CLI
from hotspot.operators.followups import Followups, run_followups
from hotspot.services import Services

USAGE_ERROR = 2
UNAVAILABLE = 69  # sysexits.h EX_UNAVAILABLE: a service we need does not answer
CLI_ACTOR = CLI  # the shell acts as the platform: the audit log says "cli"


class Context:
    """Settings are read lazily so `hotspot --help` works with a broken environment."""

    def __init__(self) -> None:
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.from_env()
        return self._settings

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with db.one_off_transaction(self.settings.effective_database_url) as session:
            yield session

    def finish(self, followups: Followups) -> None:
        """The follow-ups (jobs, Redis) of a committed change, exactly as the API runs them."""
        services = Services(self.settings)
        try:
            run_followups(followups, services.notifier)
        finally:
            services.redis.close()


pass_context = click.make_pass_decorator(Context, ensure=True)


def unreachable(exc: Exception) -> str | None:
    """One line naming the service that did not answer and the driver's reason (its address,
    never a password), or None when the error is of another kind (a bug: a traceback)."""
    cause = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(cause, psycopg.OperationalError):
        return f"the database does not answer: {first_line(cause)}"
    if isinstance(cause, redis.ConnectionError | redis.TimeoutError):
        return f"Redis does not answer: {first_line(cause)}"
    return None


def first_line(exc: BaseException) -> str:
    return next(
        (line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__
    )
