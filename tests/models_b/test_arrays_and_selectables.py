"""Class 10, continued: PostgreSQL ARRAY columns, and relationships to classes mapped on a
subquery or a join (read-only views as SQLAlchemy's docs map them)."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    column_property,
    configure_mappers,
    mapped_column,
    relationship,
)

import treeshape as ts
from tests.agreement import assert_backends_agree
from tests.databases import BOTH, Db
from tests.models_b.helpers import agree, open_db


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "mb_customer"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(30))


class Invoice(Base):
    __tablename__ = "mb_invoice"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("mb_customer.id"))
    total: Mapped[int]


_totals = (
    sa.select(
        Invoice.customer_id.label("customer_id"),
        sa.func.sum(Invoice.total).label("total"),
        sa.func.count(Invoice.id).label("invoices"),
    )
    .group_by(Invoice.customer_id)
    .subquery("mb_customer_totals")
)


class CustomerTotal(Base):
    """A class mapped on an aggregate subquery (a read-only view)."""

    __table__ = _totals
    __mapper_args__ = {"primary_key": [_totals.c.customer_id]}


class CustomerInvoice(Base):
    """A class mapped on a join of two tables."""

    __table__ = sa.join(Customer.__table__, Invoice.__table__)
    id = column_property(Customer.__table__.c.id, Invoice.__table__.c.customer_id)
    invoice_id = Invoice.__table__.c.id


Customer.summary = relationship(  # type: ignore[attr-defined]
    CustomerTotal,
    primaryjoin=Customer.id == sa.orm.foreign(_totals.c.customer_id),
    uselist=False,
    viewonly=True,
)
Customer.lines = relationship(  # type: ignore[attr-defined]
    CustomerInvoice,
    primaryjoin=Customer.id == sa.orm.remote(sa.orm.foreign(Invoice.__table__.c.customer_id)),
    order_by=Invoice.__table__.c.id,
    viewonly=True,
)
configure_mappers()


@pytest.fixture(scope="module", params=BOTH)
def db(request: pytest.FixtureRequest) -> Iterator[Db]:
    with open_db(request, Base.metadata) as found:
        with Session(found.engine) as session:
            session.add_all([Customer(id=1, name="Ann"), Customer(id=2, name="Bo")])
            session.flush()
            session.add_all([Invoice(id=i, customer_id=1 + i % 2, total=10 * i) for i in (1, 2, 3)])
            session.commit()
        yield found


def test_relationship_to_a_class_mapped_on_a_subquery(db: Db) -> None:
    shape = ts.shape(Customer, "summary")
    fields = {"Customer": ["id", "name"], "CustomerTotal": ["customer_id", "total", "invoices"]}
    docs = agree(db, shape, {"summary": {}}, fields)
    assert [d["summary"] for d in docs] == [
        {"customer_id": 1, "total": 20, "invoices": 1},
        {"customer_id": 2, "total": 40, "invoices": 2},
    ]


def test_relationship_to_a_class_mapped_on_a_join(db: Db) -> None:
    shape = ts.shape(Customer, "lines", fields={"CustomerInvoice": ["invoice_id", "total"]})
    fields = {"Customer": ["id", "name"], "CustomerInvoice": ["invoice_id", "total"]}
    docs = agree(db, shape, {"lines": {}}, fields)
    assert [[x["invoice_id"] for x in d["lines"]] for d in docs] == [[2], [1, 3]]


class PgBase(DeclarativeBase):
    pass


class Sensor(PgBase):
    __tablename__ = "mb_sensor"
    id: Mapped[int] = mapped_column(primary_key=True)
    samples: Mapped[list[int | None] | None] = mapped_column(ARRAY(sa.Integer))
    days: Mapped[list[dt.date] | None] = mapped_column(ARRAY(sa.Date))
    prices: Mapped[list[decimal.Decimal] | None] = mapped_column(ARRAY(sa.Numeric(10, 2)))
    grid: Mapped[list[list[float]] | None] = mapped_column(ARRAY(sa.Double, dimensions=2))


@pytest.mark.postgres
def test_postgresql_arrays(request: pytest.FixtureRequest) -> None:
    request.param = "postgresql"  # type: ignore[attr-defined]
    with open_db(request, PgBase.metadata) as found:
        with Session(found.engine) as session:
            session.add_all(
                [
                    Sensor(
                        id=1,
                        samples=[1, None, 2**31 - 1],
                        days=[dt.date(2024, 2, 29)],
                        prices=[decimal.Decimal("1.50"), decimal.Decimal("-0.01")],
                        grid=[[0.1, 1e300], [-0.0, 5e-324]],
                    ),
                    Sensor(id=2, samples=[], days=None, prices=None, grid=None),
                ]
            )
            session.commit()
        shape = ts.shape(Sensor)
        fields = {"Sensor": ["id", "samples", "days", "prices", "grid"]}
        docs = assert_backends_agree(
            found.engine, shape, {}, fields=fields, defaults=fields, fetchable=False
        )
        with Session(found.engine) as session:
            # The JSON strategy cannot write an ARRAY and says so; Core (the default) can.
            assert shape.fetch(session) == shape.fetch(session, strategy="core") == docs
            assert orjson.loads(shape.fetch_json(session)) == docs
            with pytest.raises(ts.FetchError, match=r"Sensor\.samples: ARRAY"):
                shape.fetch(session, strategy="json")
        assert docs[0]["samples"] == [1, None, 2**31 - 1] and docs[1]["samples"] == []
        assert docs[0]["days"] == ["2024-02-29"] and docs[0]["prices"] == ["1.50", "-0.01"]
