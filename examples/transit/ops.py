"""Production defaults shared by the Flask and the FastAPI app: engines, the database-away
answer, and what an error may echo.

A web app's engine needs more than ``create_engine(url)``: without a statement timeout a
locked table stalls every client; without ``pool_pre_ping`` the first request after a database
restart gets a dead pooled connection (a 500); without a bound on the pool wait a burst of
requests queues forever. `engine_options` gives both apps, on SQLite and on PostgreSQL, the
same answers, and `UNAVAILABLE` lists the errors that mean "the database is away or too slow
right now": the apps answer them with a JSON 503 and a ``Retry-After``, and the next request
after the database is back succeeds, without a restart.

The knobs are `Settings`, read from the environment by `Settings.from_env` (see
``docs/howto/deployment.md``).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import create_engine, event, exc
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

__all__ = [
    "RETRY_AFTER",
    "SHOWN",
    "UNAVAILABLE",
    "UNAVAILABLE_MESSAGE",
    "Settings",
    "async_engine",
    "engine",
    "engine_options",
    "install_sqlite_timeout",
    "quoted",
]

SHOWN = 80
"""Characters of a client's value an error message echoes (treeshape.web's convention)."""

RETRY_AFTER = "1"
"""Seconds a client is told to wait before retrying while the database is away."""

UNAVAILABLE_MESSAGE = "The database is unavailable or too slow right now; retry shortly."

UNAVAILABLE: tuple[type[Exception], ...] = (
    exc.OperationalError,  # refused, terminated, statement timeout, SQLite busy or interrupted
    exc.InterfaceError,  # the driver's connection is closed
    exc.DisconnectionError,
    exc.TimeoutError,  # no pooled connection free within Settings.pool_timeout
    OSError,  # asyncpg's own connect errors (refused, no socket) reach us unwrapped
)
"""Errors answered with a 503: the database, not the request, is the problem."""


def quoted(value: str) -> str:
    """``value`` as an error echoes it: quoted, and cut to `SHOWN` characters saying so."""
    if len(value) <= SHOWN:
        return repr(value)
    return f"{value[:SHOWN]!r}... (cut: {len(value)} characters)"


@dataclass(frozen=True, kw_only=True)
class Settings:
    """What an app's engine is allowed: how long a statement, how many connections, how long
    a request may wait for one. The defaults suit the example's requests (a whole Cairns
    route is well under a second) with a wide margin."""

    statement_timeout: float = 5.0
    """Seconds one statement may run before the database cancels it (a 503)."""
    pool_size: int = 10
    """Connections kept open per process."""
    max_overflow: int = 5
    """Connections opened beyond ``pool_size`` under a burst, closed when returned."""
    pool_timeout: float = 10.0
    """Seconds a request waits for a free connection before its 503."""
    pool_recycle: float = 1800.0
    """Seconds after which a pooled connection is replaced (servers and proxies drop idle
    connections; pre-ping catches the rest)."""

    ENV_PREFIX = "TRANSIT_"

    def __post_init__(self) -> None:
        for name, low in (
            ("statement_timeout", 0.001),
            ("pool_timeout", 0.001),
            ("pool_recycle", 1.0),
            ("pool_size", 1),
            ("max_overflow", 0),
        ):
            value = getattr(self, name)
            valid = isinstance(value, int | float) and not isinstance(value, bool)
            if not valid or not math.isfinite(value) or value < low:
                raise ValueError(f"Settings.{name} must be a number >= {low}, got {value!r}.")

    @property
    def connections(self) -> int:
        """The most connections one process opens: what may run on the database at once."""
        return self.pool_size + self.max_overflow

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``TRANSIT_STATEMENT_TIMEOUT``, ``TRANSIT_POOL_SIZE``, ... (each
        field's name in upper case); unset variables keep the defaults."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for spec in fields(cls):
            variable = cls.ENV_PREFIX + spec.name.upper()
            text = environ.get(variable)
            if text is None or not text.strip():
                continue
            kind = int if spec.type == "int" else float
            try:
                values[spec.name] = kind(text)
            except ValueError:
                what = "an integer" if kind is int else "a number of seconds"
                raise ValueError(f"{variable} must be {what}, got {text!r}.") from None
        try:
            return cls(**values)
        except ValueError as error:
            raise ValueError(f"{error} (from ${cls.ENV_PREFIX}...)") from None


def _is_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def engine_options(db_url: str | URL, settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``create_engine`` / ``create_async_engine`` on ``db_url``.

    Pre-ping and the pool bounds on every pooled engine; the statement timeout as the server's
    ``statement_timeout`` on PostgreSQL (psycopg and asyncpg), and on SQLite as the busy
    timeout (how long to wait for another writer's lock) plus, on the sync driver,
    `install_sqlite_timeout` after the engine exists.
    """
    url = make_url(db_url)
    options: dict[str, Any] = {}
    if not _is_memory(url):
        options.update(
            pool_pre_ping=True,
            pool_size=settings.pool_size,
            max_overflow=settings.max_overflow,
            pool_timeout=settings.pool_timeout,
            pool_recycle=settings.pool_recycle,
        )
    millis = str(max(1, round(settings.statement_timeout * 1000)))
    backend, driver = url.get_backend_name(), url.get_driver_name()
    if backend == "postgresql" and driver == "asyncpg":
        options["connect_args"] = {
            "server_settings": {"statement_timeout": millis},
            "timeout": settings.pool_timeout,
        }
    elif backend == "postgresql":
        options["connect_args"] = {
            "options": f"-c statement_timeout={millis}",
            "connect_timeout": max(1, round(settings.pool_timeout)),
        }
    elif backend == "sqlite":
        options["connect_args"] = {"timeout": settings.statement_timeout}
    return options


_DEADLINE = "transit_deadline"
_PROGRESS_STEPS = 10_000  # SQLite virtual-machine steps between two deadline checks


def install_sqlite_timeout(engine: Engine | AsyncEngine, settings: Settings) -> None:
    """Make SQLite interrupt a statement that runs past ``settings.statement_timeout``.

    SQLite has no statement timeout; its progress handler, called every few thousand steps,
    may interrupt the statement (``sqlite3.OperationalError: interrupted``, a 503 here). Each
    statement sets its connection's deadline just before it runs. Only the sync ``sqlite3``
    driver has the handler; other engines are left as they are.
    """
    sync_engine = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
    if sync_engine.dialect.name != "sqlite" or sync_engine.dialect.is_async:
        return
    timeout = settings.statement_timeout

    @event.listens_for(sync_engine, "connect")
    def _progress(dbapi_connection: Any, record: Any) -> None:
        deadline = [math.inf]
        record.info[_DEADLINE] = deadline
        dbapi_connection.set_progress_handler(
            lambda: time.monotonic() > deadline[0], _PROGRESS_STEPS
        )

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _arm(conn: Any, *_: Any) -> None:
        deadline = conn.info.get(_DEADLINE)
        if deadline is not None:
            deadline[0] = time.monotonic() + timeout


def engine(db_url: str, settings: Settings) -> Engine:
    """A sync engine on ``db_url`` with the production defaults of `engine_options`."""
    made = create_engine(db_url, **engine_options(db_url, settings))
    install_sqlite_timeout(made, settings)
    return made


def async_engine(db_url: str, settings: Settings) -> AsyncEngine:
    """An asyncio engine on ``db_url`` with the production defaults of `engine_options`."""
    return create_async_engine(db_url, **engine_options(db_url, settings))
