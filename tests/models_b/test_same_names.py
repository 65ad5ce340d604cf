"""Class 7: two models of one class name (two modules of one registry, or two registries).
A name in ``fields=`` that could mean either is a `SpecError` (pass the class), the class
itself works, and the web layer gives each its own ``fields[...]`` parameter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

import treeshape as ts
from tests.databases import BOTH, Db
from tests.models_b import same_name_catalog as catalog
from tests.models_b import same_name_stock as stock
from tests.models_b.helpers import agree, open_db, spec_error
from tests.models_b.same_name_base import Base
from treeshape.web.endpoint import EndpointShape
from treeshape.web.problems import QueryError


class Order(Base):
    __tablename__ = "mb_order"
    id: Mapped[int] = mapped_column(primary_key=True)
    note: Mapped[str] = mapped_column(sa.String(40))
    items: Mapped[list[catalog.Item]] = relationship(
        lambda: catalog.Item, order_by=lambda: catalog.Item.id
    )
    stock: Mapped[list[stock.Item]] = relationship(
        lambda: stock.Item, order_by=lambda: stock.Item.id
    )


class OtherBase(DeclarativeBase):
    """A second registry (a plugin's models) with its own ``Order``."""


class OtherOrder(OtherBase):
    __tablename__ = "mb_other_order"
    id: Mapped[int] = mapped_column(primary_key=True)


OtherOrder.__name__ = "Order"  # as a plugin module would name it

# Configured as an application's first query would: a shape binds at definition from then on.
sa.orm.configure_mappers()


@pytest.fixture(scope="module", params=BOTH)
def db(request: pytest.FixtureRequest) -> Iterator[Db]:
    with open_db(request, Base.metadata) as db:
        db.clean()
        with Session(db.engine) as session:
            order = Order(id=1, note="first")
            order.items = [catalog.Item(id=i, title=f"t{i}", price=i * 10) for i in (1, 2)]
            order.stock = [stock.Item(id=5, shelf="A1", quantity=3)]
            session.add(order)
            session.commit()
        yield db


def test_an_ambiguous_name_is_refused() -> None:
    message = spec_error(Order, "items", "stock", fields={"Item": ["id"]})
    assert message == (
        "fields= names the model 'Item', but this shape of Order has several models of that "
        "name (tests.models_b.same_name_catalog.Item, tests.models_b.same_name_stock.Item): "
        "pass the class itself as the key, e.g. fields={Item: [...]} with the class imported "
        "from tests.models_b.same_name_catalog."
    )


def test_a_name_is_fine_where_only_one_class_of_it_is_in_the_shape(db: Db) -> None:
    shape = ts.shape(Order, "items", fields={"Item": ["id", "title"]})
    [doc] = agree(db, shape, {"items": {}}, {"Order": ["id", "note"], "Item": ["id", "title"]})
    assert doc["items"] == [{"id": 1, "title": "t1"}, {"id": 2, "title": "t2"}]


def test_the_class_as_key(db: Db) -> None:
    shape = ts.shape(
        Order, "items", "stock", fields={catalog.Item: ["title"], stock.Item: ["shelf"]}
    )
    # The reference names models by class name: the two Items share one field list there,
    # so each is checked against the same document built by hand.
    with Session(db.engine) as session:
        objs = session.scalars(sa.select(Order).options(*shape.loader_options())).all()
        expected = [
            {
                "id": 1,
                "note": "first",
                "items": [{"title": "t1"}, {"title": "t2"}],
                "stock": [{"shelf": "A1"}],
            }
        ]
        assert shape.dump(objs, many=True) == expected
        assert shape.marshmallow_schema(many=True).dump(objs) == expected
        assert [
            shape.pydantic_model.model_validate(o).model_dump(mode="json") for o in objs
        ] == expected
        for strategy in ("core", "json"):
            assert shape.fetch(session, strategy=strategy) == expected


def test_two_registries() -> None:
    """Same class name in two registries: each shape binds its own class; a mapping naming
    the other registry's class is refused as not in the shape."""
    message = spec_error(Order, fields={OtherOrder: ["id"]})
    assert message.startswith("fields= names the model Order, which is not in this shape of Order.")


def test_web_parameter_names_stay_unique() -> None:
    endpoint = EndpointShape(ts.shape(Order, "items", "stock"))
    assert endpoint.parameter_names[:4] == (
        "include",
        "fields[Order]",
        "fields[same_name_catalog.Item]",
        "fields[same_name_stock.Item]",
    )
    narrowed = endpoint.from_query([("fields[same_name_stock.Item]", "quantity")])
    assert narrowed.dump(
        Order(
            id=1,
            note="n",
            items=[catalog.Item(id=1, order_id=1, title="t", price=2)],
            stock=[stock.Item(id=2, order_id=1, shelf="B", quantity=4)],
        )
    ) == {
        "id": 1,
        "note": "n",
        "items": [{"id": 1, "order_id": 1, "title": "t", "price": 2}],
        "stock": [{"quantity": 4}],
    }
    with pytest.raises(QueryError) as info:
        endpoint.from_query([("fields[Item]", "id")])
    assert "fields[Item]" in str(info.value)
