"""Generated dumpers can be debugged: functions named after model and path, source lines shown."""

from __future__ import annotations

import gc
import linecache
import traceback

import pytest
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import treeshape as ts
from treeshape.backends.dumper import compiled_dumper, compiled_json_dumper


class Base(DeclarativeBase):
    pass


class Odd(Base):
    __tablename__ = "odd"

    id: Mapped[int] = mapped_column(primary_key=True)

    @property
    def broken(self) -> int:
        raise ZeroDivisionError("the property itself fails")


@pytest.mark.parametrize("dump", ["dump", "dump_json"])
def test_a_traceback_through_generated_code_shows_its_source_line(dump: str) -> None:
    shape = ts.shape(Odd, fields=["id", "broken"])
    with pytest.raises(ZeroDivisionError) as raised:
        getattr(shape, dump)(Odd(id=1))
    frames = traceback.extract_tb(raised.tb)
    generated = [frame for frame in frames if frame.filename.startswith("<treeshape")]
    assert generated, [frame.filename for frame in frames]
    frame = generated[-1]
    assert frame.name == "dump_Odd_root_0"
    assert frame.line is not None and "broken" in frame.line


def test_the_source_goes_with_the_dumper() -> None:
    shape = ts.shape(Odd, fields=["id", "broken"], name="OddGone")
    factories = [compiled_dumper(shape.node), compiled_json_dumper(shape.node)]
    names = [factory.__code__.co_filename for factory in factories]
    assert all(name in linecache.cache for name in names)
    del shape, factories
    gc.collect()
    assert not any(name in linecache.cache for name in names)


def test_file_names_are_reused_once_their_dumper_is_gone() -> None:
    names: set[str] = set()
    for i in range(50):
        shape = ts.shape(Odd, fields=["id"] if i % 2 else ["id", "broken"], name=f"OddSlot{i}")
        names.add(compiled_dumper(shape.node).__code__.co_filename)
        del shape
        gc.collect()
    assert len(names) <= 2  # CPython keeps every distinct file name: they must not grow
