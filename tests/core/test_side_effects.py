"""Importing treeshape and defining shapes change nothing outside treeshape.

No event listener appears on `Session` on import, for ordered collections or for windows through
a secondary (plain and asyncio sessions), a shape defined
before a class its relationships name exists is bound at its first use (mappers are never
configured early, so the application's later configuration still succeeds), and many threads
asking for the same new shape at once get one set of generated classes and correct output.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import ForeignKey, create_engine, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

import treeshape as ts
from tests.factories import NetworkSpec, build_network
from tests.models import Base as NetworkBase
from tests.models import Journey, Line
from tests.statements import StatementCounter


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return result.stdout.strip()


def test_import_and_ordered_plans_register_no_listener() -> None:
    out = _run(
        """
        from sqlalchemy.orm import Session
        import treeshape as ts
        from tests.models import Line
        print(len(Session().dispatch.do_orm_execute))
        shape = ts.shape(Line, {"journeys": ts.include(order_by="-headsign", limit=2)})
        shape.loader_options()
        print(len(Session().dispatch.do_orm_execute))
        """
    )
    assert out.splitlines() == ["0", "0"]


def test_windows_through_a_secondary_register_no_listener() -> None:
    """Loading with plans that window many-to-many collections (the secondary's own key columns
    selected, and the parent joined where the primary join has another condition), in a
    `Session` and an `AsyncSession`, leaves every `Session` event without a listener: none
    from treeshape (``event.contains`` of every treeshape function), none at all."""
    out = _run(
        """
        import asyncio, inspect, sys
        import sqlalchemy as sa
        from sqlalchemy import event
        from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
        from sqlalchemy.orm import Session
        import treeshape as ts
        from tests.options.test_secondary_windows import Base, Volume, fixed_data

        shape = ts.shape(
            Volume,
            {
                "topics": ts.include(ids=True, limit=2),
                "linked": ts.include(ids=True, offset=1, limit=1),
                "weighted_topics": ts.include(ids=True, limit=1),
            },
            fields=["id"],
        )
        statement = sa.select(Volume).options(*shape.loader_options()).order_by(Volume.id)
        engine = sa.create_engine("sqlite:///file:windows?mode=memory&cache=shared&uri=true")
        Base.metadata.create_all(engine)
        fixed_data().insert(engine)
        with Session(engine) as session:
            print(shape.dump(session.scalars(statement).all(), many=True)[0])

        async def load():
            url = "sqlite+aiosqlite:///file:windows?mode=memory&cache=shared&uri=true"
            async_engine = create_async_engine(url)
            async with AsyncSession(async_engine) as session:
                volumes = (await session.scalars(statement)).all()
            await async_engine.dispose()
            return shape.dump(volumes, many=True)[0]

        print(asyncio.run(load()))
        functions = set()
        for name, module in list(sys.modules.items()):
            if name.split(".")[0] != "treeshape":
                continue
            for value in vars(module).values():
                if inspect.isfunction(value):
                    functions.add(value)
                elif inspect.isclass(value):
                    for member in vars(value).values():
                        member = getattr(member, "__func__", member)
                        if inspect.isfunction(member):
                            functions.add(member)
        names = Session.dispatch._event_names
        print(len(functions) > 100)
        print(any(event.contains(Session, n, f) for n in names for f in functions))
        print(sum(len(getattr(Session().dispatch, n)) for n in names))
        """
    )
    window = "{'id': 1, 'topics': [1, 2], 'weighted_topics': [2], 'linked': [2]}"
    assert out.splitlines() == [window, window, "True", "False", "0"]


def test_ordered_collections_still_load_in_their_order() -> None:
    engine = create_engine("sqlite://")
    NetworkBase.metadata.create_all(engine)
    shape = ts.shape(Line, {"journeys": ts.include(order_by="-headsign")}, fields={Line: ["name"]})
    with Session(engine) as session:
        build_network(
            session, NetworkSpec(operators=1, lines=2, journeys_per_line=4, calls_per_journey=1)
        )
        session.commit()
        with StatementCounter(engine) as counter:
            lines = session.scalars(select(Line).options(*shape.loader_options())).all()
            documents = shape.dump(lines, many=True)
        assert counter.count == 2
    for document in documents:
        headsigns = [journey["headsign"] for journey in document["journeys"]]
        # Descending puts NULLs first, on every database (treeshape sorts as PostgreSQL does).
        nulls = [h for h in headsigns if h is None]
        assert headsigns == nulls + sorted((h for h in headsigns if h is not None), reverse=True)
        assert len(headsigns) == 4


def test_a_shape_defined_before_its_related_class_binds_at_first_use() -> None:
    class Base(DeclarativeBase):
        pass

    class Author(Base):
        __tablename__ = "author"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str]
        books: Mapped[list[Any]] = relationship("Book", order_by="Book.id")

    # Book does not exist yet: configuring now would fail, and SQLAlchemy would then refuse
    # every later configuration of this registry.
    author_books = ts.shape(Author, "books", name="AuthorWithBooks")
    assert not sa_inspect(Author).configured

    class Book(Base):
        __tablename__ = "book"
        id: Mapped[int] = mapped_column(primary_key=True)
        author_id: Mapped[int] = mapped_column(ForeignKey("author.id"))
        title: Mapped[str]

    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(Author(id=1, name="A", books=[Book(id=2, title="x"), Book(id=1, title="y")]))
        session.commit()
        author = session.scalars(select(Author).options(*author_books.loader_options())).one()
        expected = {
            "id": 1,
            "name": "A",
            "books": [
                {"id": 1, "author_id": 1, "title": "y"},
                {"id": 2, "author_id": 1, "title": "x"},
            ],
        }
        assert author_books.dump(author) == expected
        assert author_books.pydantic_model.__name__ == "AuthorWithBooks"
        assert author_books.fetch(session) == [expected]


def test_a_spec_error_of_a_deferred_shape_is_raised_at_first_use() -> None:
    class Base(DeclarativeBase):
        pass

    class Shelf(Base):
        __tablename__ = "shelf"
        id: Mapped[int] = mapped_column(primary_key=True)
        items: Mapped[list[Any]] = relationship("Item")

    with pytest.raises(ts.SpecError, match="Empty segment in include path"):
        ts.shape(Shelf, "items..x")  # the text is checked at definition, whatever the mappers
    misspelled = ts.shape(Shelf, "itemz")

    class Item(Base):
        __tablename__ = "item"
        id: Mapped[int] = mapped_column(primary_key=True)
        shelf_id: Mapped[int] = mapped_column(ForeignKey("shelf.id"))

    with pytest.raises(ts.SpecError, match="Did you mean 'items'"):
        misspelled.dump(Shelf(id=1))
    assert ts.shape(Shelf, "items").paths == ["items"]


def test_many_threads_defining_the_same_new_shape_get_one_set_of_classes(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'threads.db'}")
    NetworkBase.metadata.create_all(engine)
    with Session(engine) as session:
        build_network(
            session, NetworkSpec(operators=1, lines=3, journeys_per_line=3, calls_per_journey=2)
        )
        session.commit()
    barrier = threading.Barrier(16)
    results: list[tuple[type, type, bytes]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            shape = ts.shape(
                Line,
                {"journeys": {"calls": ts.include(count="calls_total")}},
                name="ThreadedLine",
            )
            with Session(engine) as session:
                stmt = select(Line).order_by(Line.line_id).options(*shape.loader_options())
                lines = session.scalars(stmt).all()
                results.append(
                    (
                        shape.pydantic_model,
                        shape.marshmallow_schema,
                        shape.dump_json(lines, many=True),
                    )
                )
        except BaseException as error:  # reported below, with the thread's traceback
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({id(model) for model, _, _ in results}) == 1
    assert len({id(schema) for _, schema, _ in results}) == 1
    documents = {body for _, _, body in results}
    assert len(documents) == 1
    for line in orjson.loads(documents.pop()):
        for journey in line["journeys"]:
            assert journey["calls_total"] == len(journey["calls"]) == 2


def test_journey_count_alone_costs_no_statement() -> None:
    # A count is a column of the parents' statement: defining it concurrently above did not
    # change how it loads.
    engine = create_engine("sqlite://")
    NetworkBase.metadata.create_all(engine)
    shape = ts.shape(Journey, {"calls": ts.include(count=True, embed=False)}, fields={Journey: []})
    with Session(engine) as session:
        build_network(
            session, NetworkSpec(operators=1, lines=1, journeys_per_line=2, calls_per_journey=3)
        )
        session.commit()
        with StatementCounter(engine) as counter:
            journeys = session.scalars(select(Journey).options(*shape.loader_options())).all()
            assert shape.dump(journeys, many=True) == [{"calls_count": 3}, {"calls_count": 3}]
        assert counter.count == 1
