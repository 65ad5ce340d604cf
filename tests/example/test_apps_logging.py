"""``python -m examples.transit serve`` logs one line per request with either app (issue
#17.8), as their servers usually do: uvicorn's access log for FastAPI, Paste's TransLogger
(Apache's combined format, the one waitress documents) for Flask under waitress, which logs
none by itself. Real processes on free ports of 127.0.0.1, every wait bounded."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from examples.transit.importer import import_feed

from tests.example.conftest import REPO, SAMPLE_FEED

START_TIMEOUT = 60.0
REQUESTS = ["/routes?limit=1", "/routes/AB", "/routes/NOPE", "/routes/AB?include=nope"]
STATUSES = [200, 200, 404, 400]
LINE = {
    # 127.0.0.1 - - [01/Dec/2026:23:50:00 +0000] "GET /routes/AB HTTP/1.1" 200 1234 "-" "..."
    "flask": re.compile(
        r'^127\.0\.0\.1 - - \[[^\]]+\] "GET (?P<path>\S+) HTTP/1\.1" (?P<status>\d{3}) '
    ),
    # INFO:     127.0.0.1:53412 - "GET /routes/AB HTTP/1.1" 200 OK
    "fastapi": re.compile(r'127\.0\.0\.1:\d+ - "GET (?P<path>\S+) HTTP/1\.1" (?P<status>\d{3})'),
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def sample_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("logging") / "transit.sqlite"
    assert import_feed(SAMPLE_FEED, f"sqlite:///{path}", progress=False).ok
    return path


@pytest.mark.parametrize(
    ("app", "extra"), [("flask", []), ("fastapi", []), ("fastapi", ["--workers", "2"])]
)
def test_one_access_line_per_request(
    app: str, extra: list[str], sample_sqlite: Path, tmp_path: Path
) -> None:
    port = _free_port()
    log = tmp_path / "server.log"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("TRANSIT_DB", None)
    command = ["serve", "--app", app, "--db", str(sample_sqlite), "--port", str(port), *extra]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "examples.transit", *command],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        with httpx.Client(base_url=base, timeout=20) as client:
            while True:
                assert process.poll() is None, log.read_text(errors="replace")
                try:
                    client.get("/ready-check")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "the server did not start"
                    time.sleep(0.2)
            statuses = [client.get(url).status_code for url in REQUESTS]
        assert statuses == STATUSES
        time.sleep(0.5)  # the log line is written as the response goes out
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    output = log.read_text(errors="replace")
    lines = [m for line in output.splitlines() if (m := LINE[app].search(line))]
    logged = [(m["path"], int(m["status"])) for m in lines]
    assert logged == [("/ready-check", 404), *zip(REQUESTS, STATUSES, strict=True)], output


def test_bad_setting_is_one_error_line(
    sample_sqlite: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from examples.transit import cli

    monkeypatch.setenv("TRANSIT_STATEMENT_TIMEOUT", "soon")
    assert cli.main(["serve", "--db", str(sample_sqlite), "--port", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (
        "python -m examples.transit serve: error: "
        "TRANSIT_STATEMENT_TIMEOUT must be a number of seconds, got 'soon'."
    )
