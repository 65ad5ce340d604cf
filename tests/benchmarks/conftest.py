"""Fixtures for the benchmark suite's tests: a small database built from the sample feed.

The benchmarks are a top-level package of the repository, not of the installed library, so
the repository root goes on ``sys.path`` here (and nowhere else).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SAMPLE_FEED = ROOT / "examples" / "transit" / "data" / "sample_gtfs.zip"


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The GTFS reference's example feed in SQLite, built once per test session."""
    from benchmarks.feeds import build_database

    if not SAMPLE_FEED.is_file():
        pytest.skip(f"{SAMPLE_FEED} is missing")
    db = tmp_path_factory.mktemp("bench") / "sample.sqlite"
    build_database(SAMPLE_FEED, db)
    return db


@pytest.fixture
def sample_engine(sample_db: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{sample_db}")
    yield engine
    engine.dispose()
