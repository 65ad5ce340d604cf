"""How-to: columns no shape may output. In-memory, no database needed."""

from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import treeshape as ts


class Base(DeclarativeBase):
    pass


# [start private]
class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255))
    password_hash: Mapped[str] = mapped_column(String(255), info={ts.PRIVATE_INFO_KEY: True})


account = ts.shape(Account)
assert account.fields == ("id", "email")  # left out of the default field set ...

try:
    ts.shape(Account, fields=["id", "password_hash"])  # ... and refused when named
except ts.SpecError as error:
    assert "is private" in str(error)
else:
    raise AssertionError("no SpecError")
# [end private]
