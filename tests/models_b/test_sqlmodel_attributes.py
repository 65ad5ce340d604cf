"""Class 8: on SQLModel tables, only mapped attributes and the application's own properties
are fields; Pydantic's attributes (``__fields__``, ``model_fields_set``, ``model_extra``, ...)
are refused at definition and never suggested."""

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, configure_mappers
from sqlmodel import Field, SQLModel

import treeshape as ts
from tests.databases import BOTH, Db
from tests.models_b.helpers import agree, open_db, spec_error


class Account(SQLModel, table=True):
    """As in the FastAPI full-stack template: a user table with a hashed password."""

    __tablename__ = "mb_account"
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=255)
    full_name: str | None = None
    hashed_password: str

    @property
    def display_name(self) -> str:
        """The name shown in the UI: the full name, else the email."""
        return self.full_name or self.email


# Configured as an application's first query would: a shape binds at definition from then on.
configure_mappers()

PYDANTIC_ATTRIBUTES = [
    "__fields__",
    "__fields_set__",
    "model_fields_set",
    "model_extra",
    "model_computed_fields",
    "model_fields",
]


@pytest.fixture(scope="module", params=BOTH)
def db(request: pytest.FixtureRequest) -> Iterator[Db]:
    with open_db(request, SQLModel.metadata) as db:
        yield db


@pytest.mark.parametrize("name", PYDANTIC_ATTRIBUTES)
def test_pydantic_attributes_are_not_fields(name: str) -> None:
    message = spec_error(Account, fields=["id", name])
    assert message.startswith(f"Account has no field {name!r}."), message
    listed = message.split("Fields of Account: ")[1]
    assert listed == "id, email, full_name, hashed_password, display_name."


def test_a_typo_suggests_only_model_fields() -> None:
    assert spec_error(Account, fields=["model_field"]) == (
        "Account has no field 'model_field'. Fields of Account: id, email, full_name, "
        "hashed_password, display_name."
    )
    assert spec_error(Account, fields=["emial"]) == (
        "Account has no field 'emial'. Did you mean 'email'? Fields of Account: id, email, "
        "full_name, hashed_password, display_name."
    )


def test_mapped_columns_and_declared_properties_work(db: Db) -> None:
    db.clean()
    with Session(db.engine) as session:
        session.add_all(
            [
                Account(id=1, email="a@x.org", full_name="Ada", hashed_password="h1"),
                Account(id=2, email="b@x.org", hashed_password="h2"),
            ]
        )
        session.commit()
    shape = ts.shape(Account, fields=["id", "email", "display_name"])
    with Session(db.engine) as session:
        objs = session.query(Account).order_by(Account.id).all()
        expected = [
            {"id": 1, "email": "a@x.org", "display_name": "Ada"},
            {"id": 2, "email": "b@x.org", "display_name": "b@x.org"},
        ]
        assert shape.dump(objs, many=True) == expected
        assert shape.marshmallow_schema(many=True).dump(objs) == expected
        assert [
            shape.pydantic_model.model_validate(o).model_dump(mode="json") for o in objs
        ] == expected
    columns = ts.shape(Account, fields=["id", "email", "full_name"])
    agree(db, columns, {}, {"Account": ["id", "email", "full_name"]})
