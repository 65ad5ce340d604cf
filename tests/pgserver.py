"""A throwaway PostgreSQL server for the test suite.

The suite must run against a real PostgreSQL (15) as well as SQLite, on a developer's machine and
in CI, without anyone starting a server by hand. This module either

* uses the server named by ``TREESHAPE_TEST_PG`` (``postgresql://user:pw@host:port/db``), creating
  and dropping its own databases there, or
* starts a private cluster from the Debian binaries (``/usr/lib/postgresql/15/bin``, or
  ``TREESHAPE_PG_BINDIR``) in a temporary directory, listening only on a unix socket inside that
  directory, with durability switched off for speed, and removes it afterwards.

PostgreSQL refuses to run as root, and CI runs as root: then the cluster runs as the ``postgres``
system user (``runuser``), which owns the temporary directory. Root can still reach the socket.

It is a plain module (no pytest import) so that benchmarks and scripts can reuse it; the pytest
fixtures live in ``tests/pg_fixtures.py``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

ENV_URL = "TREESHAPE_TEST_PG"
"""Environment variable naming an existing server to use instead of a private cluster."""

ENV_BINDIR = "TREESHAPE_PG_BINDIR"
"""Environment variable naming the directory with ``initdb`` and ``pg_ctl`` (overrides default)."""

DEFAULT_BINDIRS: tuple[str, ...] = ("/usr/lib/postgresql/15/bin",)

SYNC_DRIVER = "postgresql+psycopg"
ASYNC_DRIVER = "postgresql+asyncpg"

_DIR_PREFIX = "treeshape-pg-"
_OWNER_FILE = "owner.pid"
_PORT = 5432  # Only names the socket file: the cluster listens on no TCP port.


class PgUnavailable(RuntimeError):
    """No PostgreSQL server can be had; the message says why (shown as the skip reason)."""


# --------------------------------------------------------------------------------------------
# A private cluster
# --------------------------------------------------------------------------------------------


def find_bindir() -> Path:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``, or ``PgUnavailable``."""
    override = os.environ.get(ENV_BINDIR)
    candidates = [override] if override else list(DEFAULT_BINDIRS)
    for candidate in candidates:
        path = Path(candidate)
        if all(os.access(path / exe, os.X_OK) for exe in ("initdb", "pg_ctl", "postgres")):
            return path
    hint = f"set {ENV_URL}=postgresql://... to use an existing server"
    if override:
        raise PgUnavailable(f"{ENV_BINDIR}={override} has no initdb/pg_ctl/postgres; {hint}")
    raise PgUnavailable(
        f"PostgreSQL server binaries not found in {', '.join(DEFAULT_BINDIRS)} "
        f"(Debian: apt-get install postgresql-15); or {hint}"
    )


def _run_as_prefix() -> tuple[list[str], int | None, int | None]:
    """The command prefix, uid and gid to run server programs with.

    Root cannot run PostgreSQL, so as root we switch to the ``postgres`` user (``runuser`` needs
    no password as root); anyone else runs the server as themselves.
    """
    if os.geteuid() != 0:
        return [], None, None
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        raise PgUnavailable(
            "running as root, PostgreSQL refuses root, and there is no 'postgres' user to run it "
            "as (the Debian package creates one)"
        ) from None
    runuser = shutil.which("runuser")
    if runuser is None:
        raise PgUnavailable("running as root and 'runuser' is missing (util-linux)")
    return [runuser, "-u", "postgres", "--"], entry.pw_uid, entry.pw_gid


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class LocalCluster:
    """A PostgreSQL cluster in a temporary directory, owned by this process.

    ``stop()`` is idempotent and is also registered with ``atexit`` (and SIGTERM is turned into
    a ``KeyboardInterrupt`` where nobody else handles it), so that an interrupted run does not
    leave a server behind. A run killed with SIGKILL does leave one: the next start reaps it
    (see ``reap_stale_clusters``).
    """

    bindir: Path
    root: Path
    prefix: list[str]
    superuser: str = "postgres"
    startup_seconds: float = 0.0
    _stopped: bool = field(default=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root

    @property
    def logfile(self) -> Path:
        return self.root / "postgres.log"

    def url(self, database: str = "postgres", driver: str = SYNC_DRIVER) -> URL:
        """A SQLAlchemy URL over the unix socket; psycopg and asyncpg both take ``?host=DIR``."""
        return URL.create(
            driver,
            username=self.superuser,
            port=_PORT,
            database=database,
            query={"host": str(self.socket_dir)},
        )

    def _pg(self, exe: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.prefix, str(self.bindir / exe), *args],
            cwd=self.root,  # the postgres user may not be able to enter our cwd
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=_server_env(),
        )

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.logfile.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server (immediate mode: the data is thrown away) and remove the directory."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        _stop_cluster_dir(self.bindir, self.root, self.prefix)


def _server_env() -> dict[str, str]:
    # PG* variables of the caller (PGDATA, PGHOST, PGOPTIONS...) must not leak into our cluster.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


def _stop_cluster_dir(bindir: Path, root: Path, prefix: Sequence[str]) -> None:
    datadir = root / "data"
    if (datadir / "postmaster.pid").exists():
        result = subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "stop", "-D", str(datadir), "-m", "immediate", "-w"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=_server_env(),
        )
        if result.returncode != 0:
            # pg_ctl could not do it (e.g. a half-started server): signal the postmaster whose
            # pid the cluster itself recorded, and only that process.
            with contextlib.suppress(OSError, ValueError, IndexError):
                pid = int((datadir / "postmaster.pid").read_text().splitlines()[0])
                os.kill(pid, signal.SIGQUIT)
                for _ in range(100):
                    if not _pid_alive(pid):
                        break
                    time.sleep(0.05)
    shutil.rmtree(root, ignore_errors=True)


def reap_stale_clusters(bindir: Path, prefix: Sequence[str]) -> None:
    """Stop and remove clusters left by test runs that were killed before their cleanup ran.

    Each cluster directory records the pid of the process that started it; a directory whose
    owner is gone is ours to clean up.
    """
    base = Path(_temp_base())
    for root in base.glob(_DIR_PREFIX + "*"):
        try:
            owner = int((root / _OWNER_FILE).read_text().strip())
        except (OSError, ValueError):
            continue
        if owner != os.getpid() and not _pid_alive(owner):
            _stop_cluster_dir(bindir, root, prefix)


def _temp_base() -> str:
    # As root, TMPDIR may point somewhere the postgres user cannot enter (e.g. under /root).
    if os.geteuid() == 0 and os.path.isdir("/tmp"):
        return "/tmp"
    return tempfile.gettempdir()


_SERVER_SETTINGS: dict[str, str] = {
    "listen_addresses": "''",  # unix socket only: no port clashes, nothing reachable from outside
    "fsync": "off",  # the data is thrown away: durability buys nothing
    "full_page_writes": "off",
    "synchronous_commit": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_connections": "200",
    "shared_buffers": "64MB",
    "timezone": "'UTC'",  # deterministic output whatever the machine's zone (tests SET their own)
    "log_min_messages": "warning",
    # JIT compiles the suite's one-off plans for ~1 s each (measured 1.1 s against 0.04 s for a
    # 3-relationship fetch); tests never run a query long enough to win it back.
    "jit": "off",
}


def start_local_cluster(bindir: Path | None = None, timeout: float = 60.0) -> LocalCluster:
    """Create and start a private cluster; raise ``PgUnavailable`` with the reason on failure.

    ``initdb`` runs with ``--no-sync``, UTF-8 and the C locale (so that text sorts by code point,
    as Python sorts ``str``), and trust authentication on the private socket.
    """
    bindir = bindir or find_bindir()
    prefix, uid, gid = _run_as_prefix()
    with contextlib.suppress(Exception):
        reap_stale_clusters(bindir, prefix)

    started = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix=_DIR_PREFIX, dir=_temp_base()))
    (root / _OWNER_FILE).write_text(str(os.getpid()))
    if uid is not None and gid is not None:
        os.chown(root, uid, gid)
    cluster = LocalCluster(bindir=bindir, root=root, prefix=prefix)
    atexit.register(cluster.stop)
    _stop_on_sigterm()
    try:
        result = cluster._pg(
            "initdb",
            "-D",
            str(cluster.datadir),
            "-U",
            cluster.superuser,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
            "--no-instructions",
        )
        if result.returncode != 0:
            raise PgUnavailable(f"initdb failed ({result.returncode}): {result.stderr.strip()}")
        settings = "".join(
            f"{k} = {v}\n"
            for k, v in {
                **_SERVER_SETTINGS,
                "unix_socket_directories": f"'{cluster.socket_dir}'",
                "port": str(_PORT),
            }.items()
        )
        with open(cluster.datadir / "postgresql.conf", "a") as conf:
            conf.write("\n# treeshape test cluster\n" + settings)
        result = cluster._pg(
            "pg_ctl",
            "start",
            "-D",
            str(cluster.datadir),
            "-l",
            str(cluster.logfile),
            "-w",
            "-t",
            str(int(timeout)),
            timeout=timeout + 10,
        )
        if result.returncode != 0:
            raise PgUnavailable(
                f"pg_ctl start failed ({result.returncode}): {result.stderr.strip()}\n"
                f"server log:\n{cluster.log_tail()}"
            )
    except (OSError, subprocess.SubprocessError, PgUnavailable) as exc:
        cluster.stop()
        if isinstance(exc, PgUnavailable):
            raise
        raise PgUnavailable(f"could not start PostgreSQL: {exc}") from exc
    cluster.startup_seconds = time.perf_counter() - started
    return cluster


_sigterm_installed = False


def _stop_on_sigterm() -> None:
    """Make SIGTERM unwind like Ctrl-C, so that fixture teardown and ``atexit`` stop the server.

    Only where SIGTERM still has its default action, and only from the main thread.
    """
    global _sigterm_installed
    if _sigterm_installed or threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def handler(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)
    _sigterm_installed = True


# --------------------------------------------------------------------------------------------
# A server: private or external, with throwaway databases
# --------------------------------------------------------------------------------------------


def with_driver(url: str | URL, driver: str) -> URL:
    """``url`` with its dialect+driver replaced (``postgresql://`` becomes ``driver://``)."""
    return sa.make_url(url).set(drivername=driver)


@dataclass(frozen=True)
class PgDatabase:
    """One database on the test server, created empty (or from a template) for one user."""

    server: PgServer
    name: str

    def url_for(self, driver: str = SYNC_DRIVER) -> URL:
        return self.server.base_url.set(drivername=driver, database=self.name)

    @property
    def url(self) -> str:
        """SQLAlchemy URL (with password) for psycopg 3: ``postgresql+psycopg://...``."""
        return self.url_for(SYNC_DRIVER).render_as_string(hide_password=False)

    @property
    def async_url(self) -> str:
        """SQLAlchemy URL (with password) for asyncpg: ``postgresql+asyncpg://...``."""
        return self.url_for(ASYNC_DRIVER).render_as_string(hide_password=False)


def _cause(exc: sa.exc.SQLAlchemyError) -> str:
    """The driver's own error, without SQLAlchemy's wrapping and background links."""
    orig = getattr(exc, "orig", None) or exc
    return f"{type(orig).__name__}: {str(orig).strip()}"


class PgServer:
    """A reachable PostgreSQL server on which the suite may create and drop databases.

    Per-test isolation is a fresh database: with the private cluster (fsync off) ``CREATE
    DATABASE ... STRATEGY FILE_COPY`` takes about 15 ms and ``DROP DATABASE ... WITH (FORCE)``
    about 5 ms. A schema or data set shared by many tests can be built once with ``template()``
    and cloned per test at the same cost. Every database created here is dropped by ``close()``.
    """

    def __init__(self, base_url: URL, cluster: LocalCluster | None = None) -> None:
        self.base_url = base_url.set(drivername=SYNC_DRIVER)
        self.cluster = cluster
        self._token = f"{os.getpid()}_{secrets.token_hex(3)}"
        self._counter = 0
        self._created: set[str] = set()
        self._templates: dict[str, str] = {}
        self._lock = threading.Lock()
        self._admin: Engine = sa.create_engine(
            self.base_url, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=4
        )
        try:
            with self._admin.connect() as conn:
                self.version: str = conn.execute(sa.text("SHOW server_version")).scalar_one()
                self.version_num = int(
                    conn.execute(sa.text("SHOW server_version_num")).scalar_one()
                )
        except sa.exc.SQLAlchemyError as exc:
            self._admin.dispose()
            raise PgUnavailable(f"cannot connect to {self.describe()}: {_cause(exc)}") from exc

    def describe(self) -> str:
        """Where the server is, for messages (no password)."""
        if self.cluster is not None:
            return f"private cluster in {self.cluster.root}"
        return self.base_url.render_as_string(hide_password=True)

    @property
    def admin(self) -> Engine:
        """An AUTOCOMMIT engine on the maintenance database, for DDL on databases and roles."""
        return self._admin

    def _new_name(self, prefix: str) -> str:
        with self._lock:
            self._counter += 1
            return f"{prefix}_{self._token}_{self._counter}"

    def create_database(self, template: str | None = None, prefix: str = "ts") -> PgDatabase:
        """A new empty database (or a copy of the template database ``template``)."""
        name = self._new_name(prefix)
        clauses = [f'TEMPLATE "{template or "template0"}"', "ENCODING 'UTF8'"]
        if template is None:
            clauses.append("LC_COLLATE 'C' LC_CTYPE 'C'")
        if self.cluster is not None and self.version_num >= 150000:
            # FILE_COPY is ~3x faster than PG 15's default WAL_LOG for small databases; its
            # checkpoints cost nothing with fsync off, but would on someone's real server.
            clauses.append("STRATEGY FILE_COPY")
        try:
            with self._admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}" ' + " ".join(clauses))
        except sa.exc.SQLAlchemyError as exc:
            raise PgUnavailable(
                f"cannot create a database on {self.describe()} (the role needs CREATEDB): "
                f"{_cause(exc)}"
            ) from exc
        with self._lock:
            self._created.add(name)
        return PgDatabase(self, name)

    def drop_database(self, name: str) -> None:
        """Drop a database, closing whatever connections a test left open to it."""
        with self._admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        with self._lock:
            self._created.discard(name)

    def template(self, key: str, setup: Callable[[str], None]) -> str:
        """The name of a template database built once per server by ``setup(url)``.

        ``setup`` receives the psycopg URL of a fresh database and must close its connections
        (dispose its engine) before returning: PostgreSQL copies a template only while nobody
        is connected to it. Clone it per test with ``create_database(template=name)``.
        """
        with self._lock:
            existing = self._templates.get(key)
        if existing is not None:
            return existing
        db = self.create_database(prefix="tpl")
        try:
            setup(db.url)
        except BaseException:
            self.drop_database(db.name)
            raise
        # Connections the setup forgot would make every clone fail; end them now.
        with self._admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": db.name},
            )
        with self._lock:
            self._templates[key] = db.name
        return db.name

    @contextlib.contextmanager
    def database(self, template: str | None = None) -> Iterator[PgDatabase]:
        """A database for the duration of a ``with`` block."""
        db = self.create_database(template=template)
        try:
            yield db
        finally:
            self.drop_database(db.name)

    def close(self) -> None:
        """Drop every database created here, then stop the private cluster if there is one."""
        if self.cluster is None:
            with self._lock:
                names = sorted(self._created)
            for name in names:
                with contextlib.suppress(sa.exc.SQLAlchemyError):
                    self.drop_database(name)
        self._admin.dispose()
        if self.cluster is not None:
            self.cluster.stop()


def open_server() -> PgServer:
    """The server the suite should use: ``$TREESHAPE_TEST_PG`` if set, else a private cluster.

    Raises ``PgUnavailable`` with a reason a developer can act on.
    """
    external = os.environ.get(ENV_URL)
    if external:
        try:
            url = with_driver(external, SYNC_DRIVER)
        except sa.exc.ArgumentError as exc:
            raise PgUnavailable(f"{ENV_URL} is not a database URL: {exc}") from exc
        return PgServer(url)
    cluster = start_local_cluster()
    try:
        return PgServer(cluster.url(), cluster)
    except BaseException:
        cluster.stop()
        raise


def in_ci() -> bool:
    """True where a missing PostgreSQL must fail the run instead of skipping tests."""
    return (
        os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}
        or os.environ.get("TREESHAPE_REQUIRE_PG", "").strip() == "1"
    )
