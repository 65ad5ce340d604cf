"""Dict, set and custom collection classes (issue 13.1), on Flask-SQLAlchemy-style models.

A shape's collection is a list in the relationship's order, in every backend and in ``fetch``. A
set has no order and a keyed dict is ordered by its keys' insertion, not by ``order_by``, so a
relationship declared with either (or any collection class that is not a list) is refused when
the shape is defined, wherever it stands and however it is rendered, with a message naming the
model, the path and the list relationship to declare instead. That list relationship, and list
subclasses such as ``ordering_list``, work in every backend on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.ext.orderinglist import ordering_list
from sqlalchemy.orm import Mapped, Session, relationship
from sqlalchemy.orm.collections import attribute_keyed_dict, collection

import treeshape as ts
from tests.agreement import assert_backends_agree, column_names, without_jit
from tests.core.reference import paths_to_tree
from tests.databases import BOTH, Db, database
from tests.mappings.flask_like import SQLAlchemyStandIn

db = SQLAlchemyStandIn()


class TagBag:
    """A custom collection class, as the SQLAlchemy docs show one."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    @collection.appender
    def add(self, item: Any) -> None:
        self.items.append(item)

    @collection.remover
    def discard(self, item: Any) -> None:
        self.items.remove(item)

    @collection.iterator
    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)


class Author(db.Model):
    __tablename__ = "author"
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(50), nullable=False)
    posts = db.relationship("Post", backref="author", lazy=True, order_by="Post.id")


class Post(db.Model):
    __tablename__ = "post"
    id = db.Column(db.Integer, primary_key=True)
    title = db.Column(db.String(80), nullable=False)
    author_id = db.Column(db.Integer, db.ForeignKey("author.id"), nullable=False)
    # The spellings real models use for keyed and unique children...
    translations = db.relationship(
        "Translation", collection_class=attribute_keyed_dict("lang"), cascade="all"
    )
    tags: Mapped[set[Tag]] = relationship()
    labels = db.relationship("Tag", collection_class=TagBag, viewonly=True)
    # ...and the list relationships the refusals tell to declare beside them.
    translation_list = db.relationship("Translation", viewonly=True, order_by="Translation.id")
    tag_list = db.relationship("Tag", viewonly=True, order_by="Tag.id")
    # A list subclass keeps its order: accepted.
    bullets = db.relationship(
        "Bullet", order_by="Bullet.position", collection_class=ordering_list("position")
    )


class Translation(db.Model):
    __tablename__ = "translation"
    id = db.Column(db.Integer, primary_key=True)
    post_id = db.Column(db.Integer, db.ForeignKey("post.id"), nullable=False)
    lang = db.Column(db.String(5), nullable=False)
    text = db.Column(db.String(80))


class Tag(db.Model):
    __tablename__ = "tag"
    id = db.Column(db.Integer, primary_key=True)
    post_id = db.Column(db.Integer, db.ForeignKey("post.id"), nullable=False)
    name = db.Column(db.String(20), nullable=False)


class Bullet(db.Model):
    __tablename__ = "bullet"
    id = db.Column(db.Integer, primary_key=True)
    post_id = db.Column(db.Integer, db.ForeignKey("post.id"), nullable=False)
    position = db.Column(db.Integer)
    text = db.Column(db.String(40))


DEFAULTS = column_names(Author, Post, Translation, Tag, Bullet)


@pytest.fixture(scope="module", params=BOTH)
def blog_db(request: pytest.FixtureRequest) -> Iterator[Db]:
    with database(request, db.metadata) as found:
        found.clean()
        with Session(found.engine) as session:
            fill(session)
        yield without_jit(found)


def fill(session: Session) -> None:
    """Three authors (one without posts); tags and translations inserted out of id order."""
    ann, bob, cy = Author(id=1, name="ann"), Author(id=2, name="bob"), Author(id=3, name="cy")
    session.add_all([ann, bob, cy])
    for i, author in enumerate([ann, ann, bob, bob, bob]):
        post = Post(id=i + 1, title=f"t{i}", author=author)
        session.add(post)
        for j in reversed(range(i % 3 + 1)):
            session.add(Tag(id=10 * i + j, post_id=i + 1, name=f"n{j}"))
            session.add(Translation(id=10 * i + j, post_id=i + 1, lang=f"l{j}", text=None))
        post.bullets = [Bullet(id=10 * i + j, text=f"b{j}") for j in range(i % 2 + 1)]
    session.commit()


REFUSED = [
    ("translations", "a dict", "Translation"),
    ("tags", "a set", "Tag"),
    ("labels", "a custom", "Tag"),
]


@pytest.mark.parametrize(("name", "kind", "target"), REFUSED)
@pytest.mark.parametrize(
    "spec",
    [
        lambda name: (name,),
        lambda name: ({name: ts.include(ids=True)},),
        lambda name: ({name: ts.include(count=True, embed=False)},),
        lambda name: ({name: ts.include(limit=1, order_by="id")},),
    ],
)
def test_non_list_collections_are_refused(name: str, kind: str, target: str, spec: Any) -> None:
    with pytest.raises(ts.SpecError) as error:
        ts.shape(Post, *spec(name))
    assert str(error.value) == (
        f"Post.{name} (include path {name!r}) is {kind} collection (collection_class): its "
        f"order is not the relationship's order_by, so dump and fetch could not agree on the "
        f"list. Declare a loadable relationship for the endpoint beside it, e.g. "
        f"`{name}_list: Mapped[list[{target}]] = relationship(viewonly=True, order_by=...)` "
        f"(with the same primaryjoin), and include that."
    )


@pytest.mark.parametrize(("name", "kind", "target"), REFUSED)
def test_refused_below_the_root_with_the_full_path(name: str, kind: str, target: str) -> None:
    with pytest.raises(ts.SpecError, match=rf"^Post\.{name} \(include path 'posts\.{name}'\)"):
        ts.shape(Author, f"posts.{name}")
    inner = ts.shape(Post, "bullets")
    with pytest.raises(ts.SpecError, match=rf"^Post\.{name} \(include path 'posts\.{name}'\)"):
        ts.shape(Author, {"posts": {name: {}, "bullets": inner}})


@pytest.mark.parametrize(
    ("root", "paths", "statements"),
    [
        (Post, ["translation_list", "tag_list", "bullets"], 4),
        (Author, ["posts.tag_list", "posts.bullets"], 4),
        (Tag, [], 1),
    ],
)
def test_list_relationships_work_everywhere(
    blog_db: Db, root: type, paths: list[str], statements: int
) -> None:
    shape = ts.shape(root, *paths)
    docs = assert_backends_agree(
        blog_db.engine,
        shape,
        paths_to_tree(paths),
        fields={},
        defaults=DEFAULTS,
        statements=statements,
    )
    assert docs


def test_list_relationship_keeps_its_order(blog_db: Db) -> None:
    """Rows were inserted in descending id order: the list follows order_by=Tag.id."""
    docs = assert_backends_agree(
        blog_db.engine,
        ts.shape(Post, {"tag_list": ts.include(limit=2)}, fields={"Tag": ["id"]}),
        None,
        fields={},
        defaults=DEFAULTS,
        statements=2,
        expected=[
            {**{k: d[k] for k in DEFAULTS["Post"]}, "tag_list": [{"id": t} for t in tags]}
            for d, tags in _tag_ids(blog_db)
        ],
    )
    assert any(len(doc["tag_list"]) == 2 for doc in docs)


def _tag_ids(blog_db: Db) -> list[tuple[dict[str, Any], list[int]]]:
    with Session(blog_db.engine) as session:
        posts = session.query(Post).order_by(Post.id).all()
        return [
            (
                {k: getattr(p, k) for k in DEFAULTS["Post"]},
                sorted(t.id for t in p.tags)[:2],
            )
            for p in posts
        ]
