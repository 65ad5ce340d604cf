"""Class 5: binary columns dump as lowercase hex (Pydantic's ``ser_json_bytes="hex"``) in every
backend and in SQL, deferred or not, whatever the bytes (non-UTF-8 included)."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

import treeshape as ts
from tests.databases import ALL, Db
from tests.models_b.helpers import agree, open_db


class Base(DeclarativeBase):
    pass


class Folder(Base):
    __tablename__ = "mb_folder"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40))
    files: Mapped[list[Attachment]] = relationship(
        back_populates="folder", order_by="Attachment.id"
    )


class Attachment(Base):
    """As a CTF platform stores uploads: the content inline, a thumbnail deferred."""

    __tablename__ = "mb_attachment"
    id: Mapped[int] = mapped_column(primary_key=True)
    folder_id: Mapped[int] = mapped_column(sa.ForeignKey("mb_folder.id"))
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    thumbnail: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    digest: Mapped[bytes | None] = mapped_column(sa.LargeBinary(32))
    folder: Mapped[Folder] = relationship(back_populates="files")


FIELDS = {
    "Folder": ["id", "name"],
    "Attachment": ["id", "folder_id", "content", "thumbnail", "digest"],
}
shape = ts.shape(Folder, "files", fields={"Attachment": FIELDS["Attachment"]})


@pytest.fixture(scope="module", params=ALL)
def db(request: pytest.FixtureRequest) -> Iterator[Db]:
    with open_db(request, Base.metadata) as db:
        yield db


def _store(db: Db, contents: list[tuple[bytes, bytes | None]]) -> None:
    db.clean()
    with Session(db.engine) as session:
        folder = Folder(id=1, name="uploads")
        folder.files = [
            Attachment(id=i, content=c, thumbnail=t, digest=None if t is None else c[:32])
            for i, (c, t) in enumerate(contents, 1)
        ]
        session.add(folder)
        session.commit()


def test_non_utf8_bytes_are_hex_everywhere(db: Db) -> None:
    _store(db, [(b"\xff\x00\x80", b"\xfe"), (b"plain text", None), (b"", b"")])
    [doc] = agree(db, shape, {"files": {}}, FIELDS)
    assert [f["content"] for f in doc["files"]] == ["ff0080", "706c61696e2074657874", ""]
    assert [f["thumbnail"] for f in doc["files"]] == ["fe", None, ""]
    with Session(db.engine) as session:
        assert shape.fetch_json(session) == shape.dump_json(
            session.scalars(sa.select(Folder).options(*shape.loader_options())).all(), many=True
        )


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=40), st.none() | st.binary(max_size=8)), max_size=4))
def test_any_bytes(db: Db, contents: list[tuple[bytes, bytes | None]]) -> None:
    _store(db, contents)
    [doc] = agree(db, shape, {"files": {}}, FIELDS)
    assert [bytes.fromhex(f["content"]) for f in doc["files"]] == [c for c, _ in contents]


def test_unloaded_objects_in_each_class() -> None:
    """Objects built in Python (not loaded): the same hex from every backend."""
    schema = shape.marshmallow_schema()
    obj = Folder(
        id=1,
        name="x",
        files=[Attachment(id=2, folder_id=1, content=b"\x01", thumbnail=None, digest=b"\x02")],
    )
    assert schema.dump(obj)["files"][0]["content"] == "01"
    assert orjson.loads(shape.dump_json(obj))["files"][0]["digest"] == "02"
    dumped = shape.pydantic_model.model_validate(obj).model_dump(mode="json")
    assert dumped == shape.dump(obj) == schema.dump(obj)
