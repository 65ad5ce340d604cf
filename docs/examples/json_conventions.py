"""Concepts: JSON conventions. Runs on an in-memory SQLite database."""

import datetime as dt
import decimal
import enum
import uuid

import orjson
from sqlalchemy import Numeric, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

import treeshape as ts


# [start model]
class Base(DeclarativeBase):
    pass


class Status(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    price: Mapped[decimal.Decimal] = mapped_column(Numeric(10, 2))
    valid_on: Mapped[dt.date]
    sold_at: Mapped[dt.datetime]
    status: Mapped[Status]
    note: Mapped[str | None]


ticket = ts.shape(Ticket)
# [end model]

engine = create_engine("sqlite://")
Base.metadata.create_all(engine)

with Session(engine) as session:
    session.add(
        Ticket(
            id=uuid.UUID("12345678-1234-5678-1234-567812345678"),
            price=decimal.Decimal("2.50"),
            valid_on=dt.date(2025, 3, 1),
            sold_at=dt.datetime(2025, 3, 1, 7, 30),
            status=Status.OPEN,
            note=None,
        )
    )
    session.commit()

    # [start dump]
    obj = session.scalars(select(Ticket).options(*ticket.loader_options())).one()
    document = ticket.dump(obj)
    assert document == {
        "id": "12345678-1234-5678-1234-567812345678",  # UUID as a string
        "price": "2.50",  # Decimal as a string: no precision lost
        "valid_on": "2025-03-01",  # ISO 8601
        "sold_at": "2025-03-01T07:30:00",
        "status": "open",  # enums by value
        "note": None,
    }
    # Every backend gives the same document, and dump_json the same as bytes.
    assert document == ticket.marshmallow_schema().dump(obj)
    assert document == ticket.pydantic_model.model_validate(obj).model_dump(mode="json")
    assert orjson.loads(ticket.dump_json(obj)) == document
    # [end dump]

# [start utc]
# Aware datetimes in UTC end in "Z", as in Pydantic's JSON mode; other offsets are kept.
unsaved = Ticket(
    id=uuid.uuid4(),
    price=decimal.Decimal("3"),
    valid_on=dt.date(2025, 3, 1),
    sold_at=dt.datetime(2025, 3, 1, 7, 30, tzinfo=dt.UTC),
    status=Status.CLOSED,
    note="é",
)
assert ticket.dump(unsaved)["sold_at"] == "2025-03-01T07:30:00Z"
unsaved.sold_at = dt.datetime(2025, 3, 1, 7, 30, tzinfo=dt.timezone(dt.timedelta(hours=10)))
assert ticket.dump(unsaved)["sold_at"] == "2025-03-01T07:30:00+10:00"
assert ticket.dump(unsaved) == ticket.pydantic_model.model_validate(unsaved).model_dump(mode="json")
# [end utc]
