"""The transit example's command line: `python -m examples.transit import|serve`.

`serve` on an empty database imports the shipped Cairns feed first, so that one command, from
a fresh clone and offline, gives a running API. User mistakes (no such file, not a zip, a bad
database URL, a busy port) end with one `error:` line and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from .feed import FeedError
from .importer import ImportReport, engine_for, import_feed
from .models import Route
from .ops import Settings

SHIPPED_FEED = Path(__file__).parent / "data" / "cairns_gtfs.zip"
DEFAULT_DB = "sqlite:///transit.sqlite"
DB_ENV = "TRANSIT_DB"
APPS = ("flask", "fastapi")
ACCESS_LOGGER = "waitress.access"


class UsageError(Exception):
    """A mistake in what the user asked for: reported in one line, exit status 2."""


def database_url(value: str) -> str:
    """A SQLAlchemy URL, or a plain file path meaning a SQLite file (`--db my.sqlite`)."""
    if "://" not in value:
        return f"sqlite:///{value}"
    try:
        make_url(value)
    except ArgumentError:
        raise argparse.ArgumentTypeError(f"not a database URL: {value!r}") from None
    return value


SYNC_DRIVERS = {"sqlite": "sqlite+pysqlite", "postgresql": "postgresql+psycopg"}
"""The sync driver standing in for an asyncio one where a sync engine is needed."""


def sync_url(db: str) -> str:
    """The sync counterpart of an asyncio URL (``sqlite+aiosqlite`` -> ``sqlite+pysqlite``).

    The importer and the Flask app work on a sync engine; only the FastAPI app runs on an
    ``AsyncEngine``. So ``--db postgresql+asyncpg://...`` imports with psycopg and serves
    FastAPI with asyncpg, on the same database. Sync URLs are returned unchanged.
    """
    try:
        url = make_url(db)
        if not url.get_dialect().is_async:
            return db
    except Exception:  # malformed or unknown: let the caller report it in its own words
        return db
    driver = SYNC_DRIVERS.get(url.get_backend_name(), url.get_backend_name())
    return url.set(drivername=driver).render_as_string(hide_password=False)


def _parser() -> argparse.ArgumentParser:
    default_db = os.environ.get(DB_ENV) or DEFAULT_DB
    db_help = (
        "database: a SQLAlchemy URL (e.g. postgresql+psycopg://user@host/gtfs) or a SQLite "
        f"file path (default: %(default)s; set ${DB_ENV} to change it)"
    )
    parser = argparse.ArgumentParser(
        prog="python -m examples.transit",
        description="The treeshape transit example: import a GTFS feed, serve it as a REST API.",
        epilog=(
            "Quick start, offline: `python -m examples.transit serve` imports the shipped "
            "Cairns feed into transit.sqlite on first run and serves it on "
            "http://127.0.0.1:8000/."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    imp = commands.add_parser(
        "import",
        help="import a GTFS zip into the database",
        description=(
            "Import a GTFS feed (a zip, or a directory of .txt files) into the database. "
            "Tables are created if missing; importing the same feed again updates rows in "
            "place instead of duplicating them. Bad rows are skipped and listed with their "
            "file and line; the rest is loaded."
        ),
    )
    imp.add_argument("feed", metavar="FEED.zip", type=Path, help="the GTFS feed to import")
    imp.add_argument("--db", type=database_url, default=default_db, metavar="URL", help=db_help)
    imp.add_argument(
        "--replace",
        action="store_true",
        help="empty the tables first (drops rows of an older feed version the new one lacks)",
    )
    imp.add_argument("--no-progress", action="store_true", help="no progress bars")
    imp.add_argument(
        "--batch-size", type=_positive, default=5000, metavar="N", help="rows per INSERT batch"
    )
    imp.add_argument(
        "--show", type=_positive, default=20, metavar="N", help="problems listed (default 20)"
    )

    serve = commands.add_parser(
        "serve",
        help="serve the database with the Flask or FastAPI app",
        description=(
            "Serve the transit API (Flask with waitress, or FastAPI with uvicorn). If the "
            "database has no transit data yet, the shipped Cairns feed is imported first."
        ),
    )
    serve.add_argument("--app", choices=APPS, default="flask", help="which app (default flask)")
    serve.add_argument("--db", type=database_url, default=default_db, metavar="URL", help=db_help)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s)")
    serve.add_argument("--port", type=_port, default=8000, metavar="N", help="port (%(default)s)")
    serve.add_argument(
        "--workers",
        type=_positive,
        default=1,
        metavar="N",
        help="fastapi: uvicorn worker processes (default 1)",
    )
    serve.add_argument(
        "--threads",
        type=_positive,
        default=None,
        metavar="N",
        help="flask: waitress threads (waitress's default 4; keep it at most the pool's "
        "connections)",
    )
    serve.add_argument(
        "--feed",
        type=Path,
        default=SHIPPED_FEED,
        metavar="FEED.zip",
        help="feed imported into an empty database (default: the shipped Cairns feed)",
    )
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a positive integer: {text!r}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number (0-65535): {text!r}")
    return value


def format_report(report: ImportReport, show: int = 20) -> str:
    """The summary printed after an import: rows per table, ignored input, problems."""
    lines = [f"Imported {report.source} into {report.database} in {report.seconds:.1f} s", ""]
    width = max(len(name) for name in report.rows) if report.rows else 5
    lines += [f"  {name:<{width}}  {count:>9,}" for name, count in report.rows.items()]
    if report.ignored_files:
        lines += ["", f"Not imported (not modelled): {', '.join(report.ignored_files)}"]
    for name, columns in report.ignored_columns.items():
        lines.append(f"Unknown columns ignored in {name}: {', '.join(columns)}")
    lines.append("")
    if not report.problems:
        lines.append("No problems found.")
        return "\n".join(lines)
    count = len(report.problems)
    lines.append(
        f"{count} problem{'s' * (count != 1)}, {report.skipped_rows} row"
        f"{'s' * (report.skipped_rows != 1)} skipped:"
    )
    lines += [f"  {problem}" for problem in report.problems[:show]]
    if count > show:
        lines.append(f"  ... and {count - show} more (--show N to list more)")
    return "\n".join(lines)


def _describe(exc: SQLAlchemyError) -> str:
    """The first line of a database error, without SQLAlchemy's background link."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _shown(db: str) -> str:
    """A database URL fit for printing: the password masked."""
    try:
        return make_url(db).render_as_string(hide_password=True)
    except ArgumentError:
        return db


def run_import(
    feed: Path, db: str, *, progress: bool, batch_size: int = 5000, replace: bool = False
) -> ImportReport:
    """`import_feed`, with the user's mistakes turned into `UsageError`s."""
    try:
        return import_feed(feed, db, progress=progress, batch_size=batch_size, replace=replace)
    except (FeedError, ValueError) as exc:  # not a feed; a malformed URL
        raise UsageError(str(exc)) from None
    except SQLAlchemyError as exc:
        raise UsageError(f"database {_shown(db)}: {_describe(exc)}") from None


def _has_data(db: str) -> bool:
    """True if the database already holds routes (then `serve` does not import)."""
    try:
        engine = engine_for(db)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table(Route.__tablename__):
                return False
            return bool(conn.execute(select(func.count()).select_from(Route)).scalar())
    except SQLAlchemyError as exc:
        raise UsageError(f"database {_shown(db)}: {_describe(exc)}") from None
    finally:
        engine.dispose()


def _check_can_listen(host: str, port: int) -> None:
    """Fail early, in one line, on a busy port or a bad host (uvicorn would log and exit 3)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def cmd_import(args: argparse.Namespace) -> int:
    report = run_import(
        args.feed,
        sync_url(args.db),
        progress=not args.no_progress,
        batch_size=args.batch_size,
        replace=args.replace,
    )
    print(format_report(report, args.show))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    _check_can_listen(args.host, args.port)
    if not _has_data(sync_url(args.db)):
        print(
            f"No transit data in {_shown(args.db)} yet: importing {args.feed} first.",
            file=sys.stderr,
        )
        report = run_import(args.feed, sync_url(args.db), progress=True)
        print(format_report(report, 5), file=sys.stderr)
    module_name = f"{__package__}.{args.app}_app"
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"cannot load the {args.app} app ({module_name}): {exc}") from None
    # FastAPI serves an asyncio URL asynchronously; Flask is WSGI and needs the sync driver.
    db = args.db if args.app == "fastapi" else sync_url(args.db)
    try:  # each app reads them itself; a bad value is one line here, not a traceback there
        Settings.from_env()
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    print(
        f"Serving {_shown(args.db)} with the {args.app} app on http://{args.host}:{args.port}/ "
        "(Ctrl+C to stop)",
        file=sys.stderr,
    )
    try:
        if args.app == "flask":
            _serve_flask(module.create_app(db), args.host, args.port, args)
        else:
            _serve_fastapi(module, db, args)
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
        ) from None
    return 0


def _serve_flask(app: object, host: str, port: int, args: argparse.Namespace) -> None:
    """waitress, with one access-log line per request (Paste's TransLogger, the logger
    waitress documents; waitress itself logs none) in the Apache combined format."""
    import waitress  # type: ignore[import-untyped, unused-ignore]
    from paste.translogger import TransLogger  # type: ignore[import-untyped]

    logged = TransLogger(app, logger_name=ACCESS_LOGGER, setup_console_handler=True)
    threads = {} if args.threads is None else {"threads": args.threads}
    waitress.serve(logged, host=host, port=port, **threads)


def _serve_fastapi(module: Any, db: str, args: argparse.Namespace) -> None:
    """uvicorn, with its own access log (one line per request). Several workers need the
    app as an import string: each process builds its own from ``$TRANSIT_DB``."""
    import uvicorn

    if args.workers == 1:
        uvicorn.run(module.create_app(db), host=args.host, port=args.port)
        return
    os.environ[DB_ENV] = db  # read by every worker process's from_env()
    uvicorn.run(
        f"{__package__}.fastapi_app:from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    command = {"import": cmd_import, "serve": cmd_serve}[args.command]
    try:
        return command(args)
    except UsageError as exc:
        print(f"{parser.prog} {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog} {args.command}: interrupted", file=sys.stderr)
        return 130
