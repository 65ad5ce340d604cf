"""Class 9: error messages name only what the endpoint declares, say which model and what
differs, and read as English."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, configure_mappers, mapped_column, relationship

import treeshape as ts
from tests.models_b.helpers import spec_error
from tests.models_b.test_sqlmodel_attributes import Account
from treeshape.web.endpoint import EndpointShape
from treeshape.web.problems import QueryError


class Base(DeclarativeBase):
    pass


class Node(Base):
    """A tree as a blog's threaded comments store it."""

    __tablename__ = "mb_message_node"
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("mb_message_node.id"))
    body: Mapped[str] = mapped_column(sa.String(40))
    children: Mapped[list[Node]] = relationship(back_populates="parent")
    parent: Mapped[Node | None] = relationship(back_populates="children", remote_side=[id])


configure_mappers()

public = EndpointShape(ts.shape(Account, fields=["id", "email", "full_name"]))
ANSWER = "is outside this endpoint's shape of Account."
DECLARED = "Fields of Account here: id, email, full_name."


def _answer(endpoint: EndpointShape, params: list[tuple[str, str]]) -> str:
    with pytest.raises(QueryError) as info:
        endpoint.from_query(params)
    return str(info.value)


@pytest.mark.parametrize(
    ("typed", "suggestion"),
    [
        ("emial", " Did you mean 'email'?"),
        ("hashed_pasword", ""),
        ("hashed_password", ""),
        ("model_fields_set", ""),
        ("__fields__", ""),
        ("display_name", ""),
    ],
)
def test_fieldset_answers_name_only_declared_fields(typed: str, suggestion: str) -> None:
    message = _answer(public, [("fields[Account]", typed)])
    assert f"'{typed}' {ANSWER}{suggestion} {DECLARED}" in message, message
    for hidden in ("hashed_password", "model_", "__fields__", "display_name"):
        assert hidden not in message.replace(typed, ""), message


def test_two_sets_of_options_say_which_model_and_what_differs() -> None:
    message = spec_error(
        Node, "children(limit=5,order_by=body)", {"children": ts.include(limit=3, order_by="body")}
    )
    assert message == (
        "The relationship at 'children' in the shape of Node is given two different sets of "
        "options, (limit=5,order_by=body) and include(...): limit is 5 in one and 3 in the "
        "other. Give its options once, or the same in both places."
    )
    message = spec_error(Node, "children(limit=5)", {"children": ts.include(count=True)})
    assert "limit is 5 in one and not given in the other; count is not given in one and True" in (
        message
    )


def test_the_same_options_in_two_places_are_one() -> None:
    shape = ts.shape(Node, "children(order_by=body)", {"children": ts.include(order_by="body")})
    assert shape == ts.shape(Node, "children(order_by=body)")


def test_collection_options_on_a_single_object() -> None:
    assert spec_error(Node, {"parent": ts.include(limit=2)}) == (
        "Node.parent (include path 'parent') is a single object, not a collection: limit "
        "applies only to collections. A single relationship takes: ids, name, on_missing."
    )
    assert spec_error(Node, {"parent": ts.include(limit=2, offset=1)}) == (
        "Node.parent (include path 'parent') is a single object, not a collection: limit, "
        "offset apply only to collections. A single relationship takes: ids, name, on_missing."
    )
