"""``lazy="dynamic"`` and ``WriteOnlyMapped`` relationships (issue 13.4).

Both are queries rather than attributes an eager load can fill, so SQLAlchemy refuses to load
them ("does not support object population"). A shape naming one is refused when it is defined,
wherever it stands and however it would render, with a message that says how to declare a
loadable relationship beside it; that relationship (the Flask-SQLAlchemy tutorials' followers,
through their association table) then works in every backend on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.orm import Session

import treeshape as ts
from tests.agreement import assert_backends_agree, column_names, without_jit
from tests.core.reference import paths_to_tree
from tests.databases import BOTH, Db, database
from tests.mappings.flask_like import SQLAlchemyStandIn

db = SQLAlchemyStandIn()

# The Flask Mega-Tutorial's models, first edition (lazy="dynamic")...
followers = db.Table(
    "followers",
    db.metadata,
    db.Column("follower_id", db.Integer, db.ForeignKey("user.id"), primary_key=True),
    db.Column("followed_id", db.Integer, db.ForeignKey("user.id"), primary_key=True),
)


class User(db.Model):
    __tablename__ = "user"
    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(64), index=True, unique=True)
    posts = db.relationship("Post", backref="author", lazy="dynamic")
    followed = db.relationship(
        "User",
        secondary=followers,
        primaryjoin=(followers.c.follower_id == id),
        secondaryjoin=(followers.c.followed_id == id),
        backref=db.backref("followers", lazy="dynamic"),
        lazy="dynamic",
    )
    # What the refusal says to declare: loadable, ordered, beside the dynamic ones.
    followed_list = db.relationship(
        "User",
        secondary=followers,
        primaryjoin=(followers.c.follower_id == id),
        secondaryjoin=(followers.c.followed_id == id),
        viewonly=True,
        order_by="User.id",
    )
    post_list = db.relationship("Post", viewonly=True, order_by="Post.id")


class Post(db.Model):
    __tablename__ = "post"
    id = db.Column(db.Integer, primary_key=True)
    body = db.Column(db.String(140))
    user_id = db.Column(db.Integer, db.ForeignKey("user.id"))


# ...and its 2024 edition (WriteOnlyMapped).
class Writer(db.Model):
    __tablename__ = "writer"
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(64))
    notes: so.WriteOnlyMapped[Note] = so.relationship(back_populates="writer")
    note_list: so.Mapped[list[Note]] = so.relationship(viewonly=True, order_by="Note.id")


class Note(db.Model):
    __tablename__ = "note"
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    writer_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("writer.id"))
    text: so.Mapped[str] = so.mapped_column(sa.String(40))
    writer: so.Mapped[Writer] = so.relationship(back_populates="notes")


DEFAULTS = column_names(User, Post, Writer, Note)


@pytest.fixture(scope="module", params=BOTH)
def social_db(request: pytest.FixtureRequest) -> Iterator[Db]:
    with database(request, db.metadata) as found:
        with Session(found.engine) as session:
            users = [User(id=i + 1, username=f"u{i}") for i in range(4)]
            session.add_all(users)
            session.flush()
            for follower, followed in [(1, 2), (1, 3), (2, 3), (3, 1), (1, 4)]:
                users[follower - 1].followed.append(users[followed - 1])
            session.add_all(Post(id=i + 1, body=f"b{i}", user_id=1 + i % 3) for i in range(6))
            writers = [Writer(id=1, name="w1"), Writer(id=2, name="w2")]
            session.add_all(writers)
            session.add_all(Note(id=i + 1, writer_id=1, text=f"t{i}") for i in range(3))
            session.commit()
        yield without_jit(found)


def message(model: str, name: str, path: str, lazy: str, target: str) -> str:
    return (
        f"{model}.{name} (include path {path!r}) is lazy={lazy!r}: it is a query, not an "
        f"attribute a loader can fill, so no shape can load it. Declare a loadable relationship "
        f"for the endpoint beside it, e.g. `{name}_list: Mapped[list[{target}]] = "
        f"relationship(viewonly=True, order_by=...)` (with the same primaryjoin), and include "
        f"that."
    )


@pytest.mark.parametrize(
    ("root", "spec", "expected"),
    [
        (User, "posts", message("User", "posts", "posts", "dynamic", "Post")),
        (User, "followed", message("User", "followed", "followed", "dynamic", "User")),
        (User, "followers", message("User", "followers", "followers", "dynamic", "User")),
        (
            Post,
            "author.followers",
            message("User", "followers", "author.followers", "dynamic", "User"),
        ),
        (
            User,
            "followed_list.posts",
            message("User", "posts", "followed_list.posts", "dynamic", "Post"),
        ),
        (Writer, "notes", message("Writer", "notes", "notes", "write_only", "Note")),
        (Note, "writer.notes", message("Writer", "notes", "writer.notes", "write_only", "Note")),
    ],
)
def test_dynamic_and_write_only_are_refused(root: type, spec: str, expected: str) -> None:
    with pytest.raises(ts.SpecError) as error:
        ts.shape(root, spec)
    assert str(error.value) == expected


@pytest.mark.parametrize(
    "options",
    [{"ids": True}, {"count": True, "embed": False}, {"limit": 1}],
)
@pytest.mark.parametrize(("root", "name"), [(User, "followers"), (Writer, "notes")])
def test_refused_whatever_the_options(root: type, name: str, options: dict[str, Any]) -> None:
    with pytest.raises(ts.SpecError, match=rf"^{root.__name__}\.{name} .* is lazy="):
        ts.shape(root, {name: ts.include(**options)})


@pytest.mark.parametrize(
    ("root", "paths", "statements"),
    [
        (User, ["followed_list.post_list"], 3),
        (User, ["followed_list.followed_list"], 3),
        (Post, ["author.followed_list"], 3),
        (Writer, ["note_list.writer"], 3),
        (Note, ["writer"], 2),
    ],
)
def test_the_loadable_declarations_work(
    social_db: Db, root: type, paths: list[str], statements: int
) -> None:
    docs = assert_backends_agree(
        social_db.engine,
        ts.shape(root, *paths),
        paths_to_tree(paths),
        fields={},
        defaults=DEFAULTS,
        statements=statements,
    )
    assert docs


def test_followed_ids_and_limits(social_db: Db) -> None:
    expected = [
        {"id": 1, "followed_list": [2, 3]},
        {"id": 2, "followed_list": [3]},
        {"id": 3, "followed_list": [1]},
        {"id": 4, "followed_list": []},
    ]
    shape = ts.shape(User, {"followed_list": ts.include(ids=True, limit=2)}, fields=["id"])
    assert_backends_agree(
        social_db.engine, shape, None, fields={}, defaults=DEFAULTS, statements=2, expected=expected
    )
