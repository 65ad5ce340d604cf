"""A throwaway MariaDB server for the test suite.

MariaDB (and MySQL) is the third database treeshape supports, so the suite runs its database
tests there too, on a developer's machine and in CI, without anyone starting a server by hand.
This module either

* uses the server named by ``TREESHAPE_TEST_MARIADB`` (``mysql://user:pw@host:port/``), creating
  and dropping its own databases there, or
* starts a private server from Debian's ``mariadb-server`` (``mariadb-install-db``, then
  ``mariadbd``) in a temporary directory, on a unix socket in that directory and no TCP port,
  with durability switched off for speed, and removes it afterwards.

MariaDB refuses to run as root, and CI runs as root: then the server runs as the ``mysql`` system
user (``runuser``), which owns the temporary directory. Root can still reach the socket.

The server's collation is ``utf8mb4_general_ci``, the default of a Debian server: case
insensitive, so that a test proves that the example's keys (declared ``utf8mb4_bin``) keep ids
that differ by case apart.

It is a plain module (no pytest import), like ``tests/pgserver.py``; the pytest fixtures live in
``tests/mariadb_fixtures.py``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from tests.pgserver import _pid_alive, _stop_on_sigterm, _temp_base

__all__ = [
    "ASYNC_DRIVER",
    "ENV_REQUIRE",
    "ENV_URL",
    "SYNC_DRIVER",
    "LocalServer",
    "MariaDbDatabase",
    "MariaDbServer",
    "MariaDbUnavailable",
    "in_ci",
    "open_server",
    "start_local_server",
]

ENV_URL = "TREESHAPE_TEST_MARIADB"
"""Environment variable naming an existing server to use instead of a private one."""

ENV_REQUIRE = "TREESHAPE_REQUIRE_MARIADB"
"""Set to ``1`` (``.ci/run`` does) to make a missing MariaDB fail the run instead of skipping."""

SYNC_DRIVER = "mysql+pymysql"
ASYNC_DRIVER = "mysql+aiomysql"

SERVER_EXE = "/usr/sbin/mariadbd"
INSTALL_EXE = "mariadb-install-db"
SERVER_COLLATION = "utf8mb4_general_ci"

_DIR_PREFIX = "treeshape-mariadb-"
_OWNER_FILE = "owner.pid"

# Flags for both the bootstrap and the server: throwaway data needs no durability.
_FAST = (
    "--innodb-flush-log-at-trx-commit=0",
    "--innodb-doublewrite=0",
    "--innodb-flush-method=nosync",
    "--innodb-buffer-pool-size=128M",
    "--innodb-log-file-size=32M",
    "--skip-log-bin",
    "--character-set-server=utf8mb4",
    f"--collation-server={SERVER_COLLATION}",
    "--default-time-zone=+00:00",
)


class MariaDbUnavailable(RuntimeError):
    """No MariaDB server can be had; the message says why (shown as the skip reason)."""


def _run_as() -> tuple[list[str], int | None, int | None]:
    """The command prefix, uid and gid to run the server with: ``mysql`` when we are root."""
    if os.geteuid() != 0:
        return [], None, None
    import pwd

    try:
        entry = pwd.getpwnam("mysql")
    except KeyError:
        raise MariaDbUnavailable(
            "running as root, MariaDB refuses root, and there is no 'mysql' user to run it as "
            "(Debian's mariadb-server creates one)"
        ) from None
    runuser = shutil.which("runuser")
    if runuser is None:
        raise MariaDbUnavailable("running as root and 'runuser' is missing (util-linux)")
    return [runuser, "-u", "mysql", "--"], entry.pw_uid, entry.pw_gid


def _find_programs() -> tuple[str, str]:
    server = SERVER_EXE if os.access(SERVER_EXE, os.X_OK) else shutil.which("mariadbd")
    install = shutil.which(INSTALL_EXE) or (
        "/usr/bin/" + INSTALL_EXE if os.access("/usr/bin/" + INSTALL_EXE, os.X_OK) else None
    )
    if server is None or install is None:
        raise MariaDbUnavailable(
            "MariaDB server programs not found (mariadbd, mariadb-install-db; Debian: "
            f"apt-get install mariadb-server); or set {ENV_URL}=mysql://... to use a server"
        )
    return server, install


@dataclass
class LocalServer:
    """A MariaDB server in a temporary directory, owned by this process.

    ``stop()`` is idempotent and registered with ``atexit``; a run killed with SIGKILL leaves
    the directory behind, and the next start reaps it (its owner pid is gone).
    """

    root: Path
    prefix: list[str]
    process: subprocess.Popen[bytes] | None = None
    startup_seconds: float = 0.0
    _stopped: bool = field(default=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def socket(self) -> Path:
        return self.root / "mysqld.sock"

    @property
    def logfile(self) -> Path:
        return self.root / "error.log"

    def url(self, driver: str = SYNC_DRIVER) -> URL:
        """A SQLAlchemy URL over the unix socket (pymysql and aiomysql take ``unix_socket``)."""
        return URL.create(
            driver, username="root", host="localhost", query={"unix_socket": str(self.socket)}
        )

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.logfile.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server (its data is thrown away) and remove the directory."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        _stop_dir(self.root, self.process)


def _stop_dir(root: Path, process: subprocess.Popen[bytes] | None = None) -> None:
    # The data is thrown away: no clean shutdown needed. The server runs under runuser in a
    # process group of its own (the one we started), so the group is killed, runuser and all.
    pids: list[int] = []
    with contextlib.suppress(OSError, ValueError):
        pids.append(int((root / "mysqld.pid").read_text().strip()))
    if process is not None:
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30  # a loaded machine can take a while to reap it
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
    shutil.rmtree(root, ignore_errors=True)


def reap_stale_servers() -> None:
    """Stop and remove servers left by test runs that were killed before their cleanup ran."""
    for root in Path(_temp_base()).glob(_DIR_PREFIX + "*"):
        try:
            owner = int((root / _OWNER_FILE).read_text().strip())
        except (OSError, ValueError):
            continue
        if owner != os.getpid() and not _pid_alive(owner):
            _stop_dir(root)


def start_local_server(timeout: float = 60.0) -> LocalServer:
    """Create and start a private server; raise ``MariaDbUnavailable`` with the reason."""
    server_exe, install_exe = _find_programs()
    prefix, uid, gid = _run_as()
    with contextlib.suppress(Exception):
        reap_stale_servers()
    started = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix=_DIR_PREFIX, dir=_temp_base()))
    (root / _OWNER_FILE).write_text(str(os.getpid()))
    if uid is not None and gid is not None:
        os.chown(root, uid, gid)
    server = LocalServer(root=root, prefix=prefix)
    atexit.register(server.stop)
    _stop_on_sigterm()
    datadir = root / "data"
    # The caller's TMPDIR may be a directory the mysql user cannot write to.
    env = {**os.environ, "TMPDIR": str(root)}
    try:
        result = subprocess.run(
            [
                *prefix,
                install_exe,
                "--no-defaults",
                f"--datadir={datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
                *_FAST,
            ],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=env,
        )
        if result.returncode != 0:
            raise MariaDbUnavailable(
                f"mariadb-install-db failed ({result.returncode}): "
                f"{(result.stderr or result.stdout).strip()[-2000:]}"
            )
        with open(server.logfile, "wb") as log:
            server.process = subprocess.Popen(
                [
                    *prefix,
                    server_exe,
                    "--no-defaults",
                    f"--datadir={datadir}",
                    f"--socket={server.socket}",
                    f"--pid-file={root / 'mysqld.pid'}",
                    "--skip-networking",
                    f"--tmpdir={root}",
                    "--max-connections=300",
                    *_FAST,
                ],
                cwd=root,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # a Ctrl-C in the terminal is ours to handle, not its
            )
        deadline = time.monotonic() + timeout
        while not server.socket.exists():
            if server.process.poll() is not None:
                raise MariaDbUnavailable(
                    f"mariadbd exited with {server.process.returncode}:\n{server.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise MariaDbUnavailable(f"mariadbd not ready in {timeout:.0f}s")
            time.sleep(0.02)
    except (OSError, subprocess.SubprocessError, MariaDbUnavailable) as exc:
        server.stop()
        if isinstance(exc, MariaDbUnavailable):
            raise
        raise MariaDbUnavailable(f"could not start MariaDB: {exc}") from exc
    server.startup_seconds = time.perf_counter() - started
    return server


def _cause(exc: sa.exc.SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None) or exc
    return f"{type(orig).__name__}: {str(orig).strip()}"


@dataclass(frozen=True)
class MariaDbDatabase:
    """One database on the test server."""

    server: MariaDbServer
    name: str

    def url_for(self, driver: str = SYNC_DRIVER) -> URL:
        return self.server.base_url.set(drivername=driver, database=self.name)

    @property
    def url(self) -> str:
        """SQLAlchemy URL (with password) for PyMySQL: ``mysql+pymysql://...``."""
        return self.url_for(SYNC_DRIVER).render_as_string(hide_password=False)

    @property
    def async_url(self) -> str:
        """SQLAlchemy URL (with password) for aiomysql: ``mysql+aiomysql://...``."""
        return self.url_for(ASYNC_DRIVER).render_as_string(hide_password=False)


class MariaDbServer:
    """A reachable MariaDB (or MySQL) server on which the suite creates and drops databases.

    A database is a directory of tables: creating one costs about a millisecond. ``template``
    builds a data set once, and ``create_database(template=...)`` copies its tables (the rows
    with ``INSERT ... SELECT``, which is much cheaper than importing a feed again).
    """

    def __init__(self, base_url: URL, local: LocalServer | None = None) -> None:
        self.base_url = base_url.set(drivername=SYNC_DRIVER, database=None)
        self.local = local
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
                self.version: str = conn.execute(sa.text("SELECT VERSION()")).scalar_one()
        except sa.exc.SQLAlchemyError as exc:
            self._admin.dispose()
            raise MariaDbUnavailable(f"cannot connect to {self.describe()}: {_cause(exc)}") from exc

    def describe(self) -> str:
        """Where the server is, for messages (no password)."""
        if self.local is not None:
            return f"private server in {self.local.root}"
        return self.base_url.render_as_string(hide_password=True)

    def _new_name(self, prefix: str) -> str:
        with self._lock:
            self._counter += 1
            return f"{prefix}_{self._token}_{self._counter}"

    def create_database(self, template: str | None = None, prefix: str = "ts") -> MariaDbDatabase:
        """A new empty database (``utf8mb4``, the server's collation), or a copy of ``template``."""
        name = self._new_name(prefix)
        try:
            with self._admin.connect() as conn:
                conn.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
                if template is not None:
                    _copy_tables(conn, template, name)
        except sa.exc.SQLAlchemyError as exc:
            raise MariaDbUnavailable(
                f"cannot create a database on {self.describe()}: {_cause(exc)}"
            ) from exc
        with self._lock:
            self._created.add(name)
        return MariaDbDatabase(self, name)

    def drop_database(self, name: str) -> None:
        with self._admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        with self._lock:
            self._created.discard(name)

    def template(self, key: str, setup: Callable[[str], None]) -> str:
        """The name of a database built once per server by ``setup(url)``; copy it per test with
        ``create_database(template=name)``."""
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
        with self._lock:
            self._templates[key] = db.name
        return db.name

    @contextlib.contextmanager
    def database(self, template: str | None = None) -> Iterator[MariaDbDatabase]:
        """A database for the duration of a ``with`` block."""
        db = self.create_database(template=template)
        try:
            yield db
        finally:
            self.drop_database(db.name)

    def close(self) -> None:
        """Drop every database created here, then stop the private server if there is one."""
        if self.local is None:
            with self._lock:
                names = sorted(self._created | set(self._templates.values()))
            for name in names:
                with contextlib.suppress(sa.exc.SQLAlchemyError):
                    self.drop_database(name)
        self._admin.dispose()
        if self.local is not None:
            self.local.stop()


def _copy_tables(conn: sa.Connection, source: str, target: str) -> None:
    """Copy every table of ``source`` into ``target``: definitions (foreign keys too), then rows."""
    tables = conn.exec_driver_sql(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = %s AND table_type = 'BASE TABLE'",
        (source,),
    ).scalars()
    conn.exec_driver_sql("SET SESSION foreign_key_checks = 0")
    try:
        for table in list(tables):
            create = conn.exec_driver_sql(f"SHOW CREATE TABLE `{source}`.`{table}`").one()[1]
            conn.exec_driver_sql(f"USE `{target}`")
            conn.exec_driver_sql(create)
            conn.exec_driver_sql(
                f"INSERT INTO `{target}`.`{table}` SELECT * FROM `{source}`.`{table}`"
            )
    finally:
        conn.exec_driver_sql("SET SESSION foreign_key_checks = 1")


def open_server() -> MariaDbServer:
    """The server the suite should use: ``$TREESHAPE_TEST_MARIADB`` if set, else a private one."""
    external = os.environ.get(ENV_URL)
    if external:
        try:
            url = sa.make_url(external)
        except sa.exc.ArgumentError as exc:
            raise MariaDbUnavailable(f"{ENV_URL} is not a database URL: {exc}") from exc
        return MariaDbServer(url)
    local = start_local_server()
    try:
        return MariaDbServer(local.url(), local)
    except BaseException:
        local.stop()
        raise


def in_ci() -> bool:
    """True where a missing MariaDB must fail the run instead of skipping tests."""
    return (
        os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}
        or os.environ.get(ENV_REQUIRE, "").strip() == "1"
    )
