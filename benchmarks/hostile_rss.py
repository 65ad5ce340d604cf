"""RSS of both example apps over 20,000 hostile requests with distinct text (SQLite sample feed).

``python -m benchmarks.hostile_rss``: distinct unknown ``fields[...]`` names, include paths,
``page[...]`` parameters, ids with NUL and long fieldsets, after a 2,000-request warm-up; prints
the statuses seen and the resident memory before and after. Nothing a request sends may be
remembered, so the growth stays within noise.
"""

from __future__ import annotations

import gc
import random
import string
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from examples.transit import fastapi_app, flask_app
from fastapi.testclient import TestClient
from tests.web.conftest import SAMPLE_FEED, _sqlite


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def main(requests: int = 20_000, warmup: int = 2_000) -> None:
    url = _sqlite(SAMPLE_FEED, Path(tempfile.mkdtemp()))
    rng = random.Random(1)

    def word(n: int = 8) -> str:
        return "".join(rng.choice(string.ascii_letters) for _ in range(n))

    kinds: list[Callable[[], str]] = [
        lambda: f"/stops/{word()}?fields[Stop]={word()}",
        lambda: f"/routes/AB?include=trips.{word()}",
        lambda: f"/routes?page[{word()}]=3",
        lambda: f"/trips/{word()}%00{word()}",
        lambda: f"/routes/AB?fields[Trip]=trip_id,{word(20)}&sort[trips]=-{word()}",
    ]
    clients: list[tuple[str, Any]] = [
        ("flask", flask_app.create_app(url).test_client()),
        ("fastapi", TestClient(fastapi_app.create_app(url))),
    ]
    for name, client in clients:
        for i in range(warmup):
            client.get(kinds[i % len(kinds)]())
        gc.collect()
        before = rss_mb()
        statuses: dict[int, int] = {}
        for i in range(requests):
            status = client.get(kinds[i % len(kinds)]()).status_code
            statuses[status] = statuses.get(status, 0) + 1
        gc.collect()
        after = rss_mb()
        print(
            f"{name}: statuses {dict(sorted(statuses.items()))}, "
            f"RSS {before:.0f} -> {after:.0f} MB ({after - before:+.1f} MB over {requests:,})",
            flush=True,
        )


if __name__ == "__main__":
    main()
