"""What every module here checks: each backend on SQLite and PostgreSQL against the reference."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

import treeshape as ts
from tests.agreement import assert_backends_agree, without_jit
from tests.core.reference import Tree
from tests.databases import Db, database

__all__ = ["agree", "open_db", "spec_error"]


@contextmanager
def open_db(request: pytest.FixtureRequest, metadata: sa.MetaData) -> Iterator[Db]:
    """``metadata``'s tables on the database ``request.param`` names, PostgreSQL's JIT off."""
    with database(request, metadata) as db:
        yield without_jit(db)


def agree(
    db: Db,
    shape: ts.Shape,
    tree: Tree,
    fields: dict[str, list[str]],
    *,
    criteria: Sequence[Any] = (),
) -> list[dict[str, Any]]:
    """Every backend's output equals the reference walk (``fields`` names every model's fields)."""
    return assert_backends_agree(
        db.engine, shape, tree, fields=fields, defaults=fields, criteria=criteria
    )


def spec_error(*args: Any, **kwargs: Any) -> str:
    """The message of the `SpecError` that ``ts.shape(*args, **kwargs)`` raises."""
    with pytest.raises(ts.SpecError) as info:
        ts.shape(*args, **kwargs)
    return str(info.value)
