"""Models with one-to-one (``uselist=False``) relationships of every kind, and their data.

An employee may have one badge (the badge holds the foreign key: a one-to-one from the
referenced side), one desk (the employee holds a unique foreign key: a many-to-one that is a
one-to-one), one profile (whose primary key is the foreign key) and one office (through an
association table keyed by the employee: a one-to-one through a secondary). Every one of them
may be missing. Own metadata and class names, so that no other test's tables or generated class
names meet them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Column, Date, ForeignKey, String, Table
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

__all__ = [
    "OneToOneBase",
    "Staff",
    "StaffBadge",
    "StaffDesk",
    "StaffOffice",
    "StaffProfile",
    "StaffTeam",
    "StaffingSpec",
    "build_staffing",
]


class OneToOneBase(DeclarativeBase):
    pass


staff_office = Table(
    "staff_office",
    OneToOneBase.metadata,
    Column("staff_id", ForeignKey("staff.staff_id"), primary_key=True),
    Column("office_id", ForeignKey("staff_office_site.office_id"), nullable=False),
)
"""One office per employee: the employee's key is the association's primary key."""


class StaffTeam(OneToOneBase):
    __tablename__ = "staff_team"

    team_id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    members: Mapped[list[Staff]] = relationship(back_populates="team", order_by="Staff.staff_id")


class StaffDesk(OneToOneBase):
    __tablename__ = "staff_desk"

    desk_id: Mapped[int] = mapped_column(primary_key=True)
    floor: Mapped[int] = mapped_column()
    label: Mapped[str | None] = mapped_column(String(20))
    occupant: Mapped[Staff | None] = relationship(back_populates="desk")


class Staff(OneToOneBase):
    __tablename__ = "staff"

    staff_id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    team_id: Mapped[int] = mapped_column(ForeignKey("staff_team.team_id"))
    desk_id: Mapped[int | None] = mapped_column(ForeignKey("staff_desk.desk_id"), unique=True)

    team: Mapped[StaffTeam] = relationship(back_populates="members")
    desk: Mapped[StaffDesk | None] = relationship(back_populates="occupant")
    badge: Mapped[StaffBadge | None] = relationship(back_populates="holder")
    profile: Mapped[StaffProfile | None] = relationship(back_populates="staff")
    office: Mapped[StaffOffice | None] = relationship(secondary=staff_office, viewonly=True)


class StaffBadge(OneToOneBase):
    __tablename__ = "staff_badge"

    badge_id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.staff_id"), unique=True)
    code: Mapped[str] = mapped_column(String(20))
    issued: Mapped[dt.date | None] = mapped_column(Date)
    holder: Mapped[Staff] = relationship(back_populates="badge")


class StaffProfile(OneToOneBase):
    __tablename__ = "staff_profile"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.staff_id"), primary_key=True)
    bio: Mapped[str | None] = mapped_column(String(100))
    staff: Mapped[Staff] = relationship(back_populates="profile")


class StaffOffice(OneToOneBase):
    __tablename__ = "staff_office_site"

    office_id: Mapped[int] = mapped_column(primary_key=True)
    city: Mapped[str] = mapped_column(String(30))


@dataclass(frozen=True)
class StaffingSpec:
    """How many teams and employees, and a seed choosing who has a badge, desk, profile, office."""

    teams: int = 2
    staff: int = 6
    desks: int = 4
    offices: int = 2
    seed: int = 0


def build_staffing(session: Session, spec: StaffingSpec = StaffingSpec()) -> None:
    """Add the rows ``spec`` describes (each one-to-one present for some employees), commit."""
    s = spec.seed
    for t in range(spec.teams):
        session.add(StaffTeam(team_id=t + 1, name=f"Team {t + 1}"))
    for d in range(spec.desks):
        session.add(StaffDesk(desk_id=d + 1, floor=(d + s) % 3, label=None if d % 2 else f"D{d}"))
    for o in range(spec.offices):
        session.add(StaffOffice(office_id=o + 1, city=f"City {o + s}"))
    session.flush()
    if not spec.teams:
        session.commit()
        return
    desks = list(range(1, spec.desks + 1))
    for e in range(spec.staff):
        staff_id = e + 1
        desk = desks.pop((e + s) % len(desks)) if desks and (e + s) % 3 else None
        session.add(
            Staff(staff_id=staff_id, name=f"E{e}", team_id=(e + s) % spec.teams + 1, desk_id=desk)
        )
        session.flush()
        if (e + s) % 2 == 0:
            issued = None if (e + s) % 4 == 0 else dt.date(2020, 1 + e % 12, 1 + s % 28)
            session.add(
                StaffBadge(badge_id=100 - e, staff_id=staff_id, code=f"B{e}", issued=issued)
            )
        if (e + s) % 3 != 1:
            session.add(StaffProfile(staff_id=staff_id, bio=None if e % 2 else f"bio {e}"))
        if spec.offices and (e * 7 + s) % 4:
            session.execute(
                staff_office.insert().values(
                    staff_id=staff_id, office_id=(e + s) % spec.offices + 1
                )
            )
    session.commit()
