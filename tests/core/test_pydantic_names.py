"""Columns named like Pydantic's own attributes (``schema``, ``json``, ``model_config``, ...).

Pydantic refuses such fields or lets them shadow ``BaseModel`` methods; the generated model gives
them another attribute name and keeps the column's name as the key, so every backend writes the
same document and the JSON Schema shows the column names.
"""

from __future__ import annotations

import warnings
from typing import Any

import orjson
import pytest
from pydantic import TypeAdapter
from sqlalchemy import ForeignKey, String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

import treeshape as ts


class Base(DeclarativeBase):
    pass


class Folder(Base):
    __tablename__ = "folder"

    id: Mapped[int] = mapped_column(primary_key=True)
    copy: Mapped[list[Doc]] = relationship(order_by="Doc.id")


class Doc(Base):
    __tablename__ = "doc"

    id: Mapped[int] = mapped_column(primary_key=True)
    folder_id: Mapped[int] = mapped_column(ForeignKey("folder.id"))
    schema: Mapped[str] = mapped_column(String)
    schema_: Mapped[str] = mapped_column(String)  # where ``schema`` would go
    json: Mapped[str] = mapped_column(String)
    dict: Mapped[str | None] = mapped_column(String)
    model_config: Mapped[str] = mapped_column(String)
    model_fields: Mapped[str] = mapped_column(String)
    model_dump: Mapped[str] = mapped_column(String)
    validate: Mapped[str] = mapped_column(String)
    construct: Mapped[str] = mapped_column(String)
    fields: Mapped[str] = mapped_column(String)
    _private: Mapped[str] = mapped_column("private", String)


COLUMNS = [
    "id",
    "folder_id",
    "schema",
    "schema_",
    "json",
    "dict",
    "model_config",
    "model_fields",
    "model_dump",
    "validate",
    "construct",
    "fields",
    "_private",
]


@pytest.fixture
def session() -> Any:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        folder = Folder(id=1)
        session.add(folder)
        for i in (1, 2):
            values = {name: f"{name}-{i}" for name in COLUMNS if name not in {"id", "folder_id"}}
            session.add(Doc(id=i, folder_id=1, **values))
        session.commit()
        session.expunge_all()
        yield session
    engine.dispose()


def test_every_backend_writes_the_column_names(session: Session) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "shadows an attribute in parent" warning either
        shape = ts.shape(Folder, "copy")
        model = shape.pydantic_model
    folder = session.scalars(_query(shape)).one()
    expected = shape.dump(folder)
    assert list(expected["copy"][0]) == COLUMNS
    assert model.model_validate(folder).model_dump(mode="json") == expected
    assert orjson.loads(model.model_validate(folder).model_dump_json()) == expected
    assert (
        TypeAdapter(model).dump_python(TypeAdapter(model).validate_python(folder), mode="json")
        == expected
    )
    assert shape.marshmallow_schema().dump(folder) == expected
    assert orjson.loads(shape.dump_json(folder)) == expected
    assert shape.fetch(session) == [expected]
    # A document validates back under its own keys.
    assert model.model_validate(expected).model_dump(mode="json") == expected


def test_the_json_schema_shows_the_column_names(session: Session) -> None:
    shape = ts.shape(Folder, "copy")
    for mode in ("serialization", "validation"):
        schema = shape.pydantic_model.model_json_schema(mode=mode)  # type: ignore[arg-type]
        doc = next(iter(schema["$defs"].values()))
        assert list(doc["properties"]) == COLUMNS
        assert sorted(doc["required"]) == sorted(COLUMNS)
        assert list(schema["properties"]) == ["id", "copy"]


def test_the_model_keeps_its_pydantic_methods(session: Session) -> None:
    shape = ts.shape(Doc)
    doc = session.get(Doc, 1)
    instance = shape.pydantic_model.model_validate(doc)
    # The methods are Pydantic's, the values are under other attribute names.
    assert callable(instance.model_dump)
    assert instance.model_copy() == instance
    # ``schema_`` is a column of its own, so ``schema`` moves one underscore further.
    assert instance.schema__ == "schema-1"  # type: ignore[attr-defined]
    assert instance.schema_ == "schema_-1"  # type: ignore[attr-defined]
    assert instance.field_model_config == "model_config-1"  # type: ignore[attr-defined]
    assert instance.model_dump()["schema"] == "schema-1"
    assert instance.model_dump()["schema_"] == "schema_-1"
    assert instance.model_dump()["_private"] == "_private-1"


def _query(shape: ts.Shape) -> Any:
    return select(shape.model).options(*shape.loader_options())
