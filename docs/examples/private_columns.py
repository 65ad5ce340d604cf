"""How-to: columns no shape may output. In-memory, no database needed."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

import treeshape as ts


class Base(DeclarativeBase):
    pass


# [start private]
class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255))
    password_hash: Mapped[str] = mapped_column(String(255), info={ts.PRIVATE_INFO_KEY: True})
    invited_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    invitees: Mapped[list[Account]] = relationship()


account = ts.shape(Account)
assert account.fields == ("id", "email", "invited_by")  # left out of the default field set ...

try:
    ts.shape(Account, fields=["id", "password_hash"])  # ... and refused when named
except ts.SpecError as error:
    assert "is private" in str(error)
else:
    raise AssertionError("no SpecError")
# [end private]

# [start private-options]
# Nor can a private column order or filter a relationship: to shapes it does not exist.
for options in ({"order_by": "password_hash"}, {"where": {"password_hash": "x"}}):
    try:
        ts.shape(Account, {"invitees": ts.include(**options)})
    except ts.SpecError as error:
        assert "has no column 'password_hash'" in str(error)
    else:
        raise AssertionError(options)
# [end private-options]
