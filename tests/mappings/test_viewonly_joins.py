"""``viewonly`` relationships with custom primaryjoins (issue 13.3).

Materialized paths (a ``LIKE`` join, as in SQLAlchemy's ``materialized_paths`` example), a join
on a range and a join filtered by a constant work in every backend on SQLite and PostgreSQL,
nested too. A per-parent ``limit``/``offset`` numbers each parent's rows by the join's column
equalities: on a join by ``LIKE`` or a range there are none, and the shape is refused, naming
the relationship and the path; on an equality join filtered by a constant it works.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import ForeignKey, String, and_, true
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    foreign,
    mapped_column,
    relationship,
    remote,
)

import treeshape as ts
from tests.agreement import assert_backends_agree, column_names, without_jit
from tests.core.reference import paths_to_tree
from tests.databases import BOTH, Db, database


class Base(DeclarativeBase):
    pass


class Node(Base):
    """A tree stored as materialized paths: ``1``, ``1.2``, ``1.2.6``..."""

    __tablename__ = "node"
    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(String(100), index=True)
    name: Mapped[str] = mapped_column(String(20))
    descendants: Mapped[list[Node]] = relationship(
        viewonly=True,
        order_by=lambda: Node.path,
        primaryjoin=lambda: remote(foreign(Node.path)).like(Node.path + ".%"),
    )
    ancestors: Mapped[list[Node]] = relationship(
        viewonly=True,
        order_by=lambda: Node.path,
        primaryjoin=lambda: Node.path.like(remote(foreign(Node.path)) + ".%"),
    )


class Band(Base):
    """Readings fall in a band by range, not by key."""

    __tablename__ = "band"
    id: Mapped[int] = mapped_column(primary_key=True)
    low: Mapped[int]
    high: Mapped[int]
    readings: Mapped[list[Reading]] = relationship(
        viewonly=True,
        order_by=lambda: Reading.id,
        primaryjoin=lambda: and_(
            foreign(remote(Reading.value)) >= Band.low, foreign(remote(Reading.value)) < Band.high
        ),
    )


class Reading(Base):
    __tablename__ = "reading"
    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int]
    sensor_id: Mapped[int] = mapped_column(ForeignKey("sensor.id"))
    valid: Mapped[bool]


class Sensor(Base):
    __tablename__ = "sensor"
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(20))
    readings: Mapped[list[Reading]] = relationship(order_by=lambda: Reading.id)
    valid_readings: Mapped[list[Reading]] = relationship(
        viewonly=True,
        order_by=lambda: Reading.id,
        primaryjoin=lambda: and_(Sensor.id == Reading.sensor_id, Reading.valid == true()),
    )


DEFAULTS = column_names(Node, Band, Reading, Sensor)
PATHS = ["1", "1.2", "1.2.3", "1.2.6", "1.5", "4", "4.7", "10"]


@pytest.fixture(scope="module", params=BOTH)
def tree_db(request: pytest.FixtureRequest) -> Iterator[Db]:
    with database(request, Base.metadata) as db:
        with Session(db.engine) as session:
            session.add_all(Node(id=i + 1, path=p, name=f"n{i}") for i, p in enumerate(PATHS))
            session.add_all([Band(id=1, low=0, high=10), Band(id=2, low=10, high=30)])
            session.add_all([Sensor(id=1, label="a"), Sensor(id=2, label="b")])
            session.flush()
            session.add_all(
                Reading(id=i + 1, value=v, sensor_id=1 + i % 2, valid=i % 3 != 0)
                for i, v in enumerate([3, 12, 25, 7, 40, 10, 11, 2, 5, 14, 29, 1, 8, 9, 13, 20])
            )
            session.commit()
        yield without_jit(db)


@pytest.mark.parametrize(
    ("root", "paths", "statements"),
    [
        (Node, ["descendants"], 2),
        (Node, ["ancestors"], 2),
        (Node, ["descendants.ancestors"], 3),
        (Band, ["readings"], 2),
        (Sensor, ["valid_readings", "readings"], 3),
    ],
)
def test_custom_joins_work(tree_db: Db, root: type, paths: list[str], statements: int) -> None:
    docs = assert_backends_agree(
        tree_db.engine,
        ts.shape(root, *paths),
        paths_to_tree(paths),
        fields={},
        defaults=DEFAULTS,
        statements=statements,
    )
    first = paths[0].split(".")[0]
    assert any(len(doc[first]) > 1 for doc in docs)  # the join finds several rows per parent


def test_descendants_by_path(tree_db: Db) -> None:
    shape = ts.shape(Node, "descendants", fields={"Node": ["path"]})
    docs = assert_backends_agree(
        tree_db.engine, shape, {"descendants": {}}, fields={"Node": ["path"]}, defaults=DEFAULTS
    )
    by_path = {doc["path"]: [d["path"] for d in doc["descendants"]] for doc in docs}
    assert by_path["1"] == ["1.2", "1.2.3", "1.2.6", "1.5"]
    assert by_path["1.2"] == ["1.2.3", "1.2.6"]
    assert by_path["10"] == []  # '10' does not start with '1.'


@pytest.mark.parametrize(
    ("root", "name", "window"),
    [
        (Node, "descendants", {"limit": 2}),
        (Node, "descendants", {"offset": 1}),
        (Node, "ancestors", {"limit": 1, "offset": 1}),
        (Band, "readings", {"limit": 2}),
    ],
)
def test_windows_on_a_join_without_equalities_are_refused(
    root: type, name: str, window: dict[str, int]
) -> None:
    with pytest.raises(ts.SpecError) as error:
        ts.shape(root, {name: ts.include(**window)})
    assert str(error.value) == (
        f"{root.__name__}.{name} (include path {name!r}): limit and offset need a join by "
        f"column equality to number each parent's rows; this relationship joins by a custom "
        f"condition (e.g. LIKE). Drop limit/offset here, or include a relationship joined by a "
        f"foreign key."
    )


def test_refused_below_the_root_too() -> None:
    with pytest.raises(ts.SpecError, match=r"^Node\.ancestors \(include path 'descendants\.anc"):
        ts.shape(Node, {"descendants": {"ancestors": ts.include(limit=1)}})


def test_window_on_a_filtered_equality_join(tree_db: Db) -> None:
    full = assert_backends_agree(
        tree_db.engine,
        ts.shape(Sensor, "valid_readings"),
        {"valid_readings": {}},
        fields={},
        defaults=DEFAULTS,
    )
    expected = [{**doc, "valid_readings": doc["valid_readings"][1:3]} for doc in full]
    assert any(len(doc["valid_readings"]) > 3 for doc in full)
    assert_backends_agree(
        tree_db.engine,
        ts.shape(Sensor, {"valid_readings": ts.include(limit=2, offset=1)}),
        None,
        fields={},
        defaults=DEFAULTS,
        statements=2,
        expected=expected,
    )
