"""How-to: replace SQLModel's ``*PublicWith*`` read models. In-memory SQLite."""

from sqlmodel import Field, Relationship, Session, SQLModel, create_engine, select

import treeshape as ts


# [start models]
# The table models of SQLModel's tutorial ("Models with Relationships in FastAPI").
class Team(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    headquarters: str

    heroes: list["Hero"] = Relationship(back_populates="team")


class Hero(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    secret_name: str
    age: int | None = Field(default=None, index=True)
    team_id: int | None = Field(default=None, foreign_key="team.id")

    team: Team | None = Relationship(back_populates="heroes")


# [end models]


# [start before]
# Before: a read model per direction and per depth, by hand.
class TeamPublic(SQLModel):
    id: int
    name: str
    headquarters: str


class HeroPublic(SQLModel):
    id: int
    name: str
    secret_name: str
    age: int | None = None
    team_id: int | None = None


class HeroPublicWithTeam(HeroPublic):
    team: TeamPublic | None = None


class TeamPublicWithHeroes(TeamPublic):
    heroes: list[HeroPublic] = []


# [end before]

# [start after]
# After: one line per view. The two-way relationship cannot recurse: a shape is a finite tree.
hero_with_team = ts.shape(Hero, "team")
team_with_heroes = ts.shape(Team, "heroes")
# FastAPI: response_model=hero_with_team.pydantic_model, return ShapeResponse(...)
# [end after]

engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)
with Session(engine) as session:
    team = Team(name="Preventers", headquarters="Sharp Tower")
    session.add_all([Hero(name="Rusty-Man", secret_name="Tommy Sharp", age=48, team=team)])
    session.add(Hero(name="Dive Wilson", secret_name="Dive"))
    session.commit()

# [start same]
with Session(engine) as session:
    heroes = session.exec(select(Hero).options(*hero_with_team.loader_options())).all()
    for hero in heroes:
        expected = HeroPublicWithTeam.model_validate(hero).model_dump(mode="json")
        assert hero_with_team.dump(hero) == expected
    teams = session.exec(select(Team).options(*team_with_heroes.loader_options())).all()
    for team in teams:
        expected = TeamPublicWithHeroes.model_validate(team).model_dump(mode="json")
        assert team_with_heroes.dump(team) == expected
# [end same]


# [start before input]
# Before: SQLModel's tutorial writes an input model per operation, by hand.
class HeroCreate(SQLModel):
    name: str
    secret_name: str
    age: int | None = None
    team_id: int | None = None


class HeroUpdate(SQLModel):
    name: str | None = None
    secret_name: str | None = None
    age: int | None = None
    team_id: int | None = None


# [end before input]

# [start after input]
# After: the input shape says what a body may write; create and patch models follow from it,
# and load() turns a body into the ORM object (the team checked to exist, by reference).
hero_in = ts.shape(Hero, {"team": ts.include(ids=True)}, fields=["name", "secret_name", "age"])
HeroIn = hero_in.input_model("create")  # POST body; hero_in.input_model("patch") for PATCH
with Session(engine) as session:
    created = hero_in.load(
        {"name": "Spider-Boy", "secret_name": "Pedro", "team": team.id}, session=session
    )
    session.commit()
    hero_id = created.id
    patched = hero_in.load(
        {"age": 16}, session=session, instance=session.get(Hero, hero_id), partial=True
    )
    session.commit()
# [end after input]

with Session(engine) as session:
    hero = session.get(Hero, hero_id)
    assert hero is not None and hero.age == 16 and hero.team_id == team.id
    assert hero.name == "Spider-Boy"
    assert set(HeroIn.model_fields) == {"name", "secret_name", "age", "team"}
    try:
        hero_in.load({"name": "X", "secret_name": "Y", "team": 999}, session=session)
    except ts.InputError as error:
        assert error.errors[0]["loc"] == ("team",)
    else:
        raise AssertionError("a team that does not exist is an InputError")
