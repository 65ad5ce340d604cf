"""The dumper: a shape's objects to JSON-ready dicts or JSON bytes, reading loaded state only.

How it is built, and why
------------------------
Each shape tree is compiled once (memoized on the tree) into Python source with one function
per node, named after its model and path, then ``exec``-ed. A node function is a single dict
display::

    def dump_Trip_trips_1(o):
        d = o.__dict__
        return {"trip_id": d["trip_id"], ..., "stop_times": [dump_StopTime_trips__stop_times_2(x)
                                                              for x in d["stop_times"]]}

The source is registered with `linecache` under a unique file name for as long as the dumper
lives, so a traceback through generated code (a property that raises) shows its line.

Code generation was measured against tuned closures (a closure per node looping over
``(name, converter)`` pairs, the previous implementation) on the transit route endpoint
(126 trips, 4,788 stop_times with their stops): 9 ms against 15 ms of CPU time, memo
included, and 0.29x a hand-written attribute-access dict builder (`benchmarks.dumper_bench`).
A closure pays, per field, a loop iteration, a tuple unpack, a ``None`` test on the converter and
a dict store; the generated dict display is one ``BINARY_SUBSCR`` per field and one
``BUILD_MAP``. Converters are inlined as expressions guarded by an exact class test
(``v.isoformat() if v.__class__ is date else convert(v)``), so the common case makes no Python
call at all and anything unusual still goes through `values.converter_for`.

Reading state, never lazy-loading
---------------------------------
Values come from the instance ``__dict__``, never through instrumented attributes, so an
attribute that is not loaded cannot issue a query. The generated code does not handle errors
(``try`` blocks in the hot path would forbid the single dict display): a missing key surfaces as
a ``KeyError``, and only then the slow `reference_dumper` (today's closure walk, kept as the
definition of the error semantics) dumps the same objects again to raise the exact
`NotLoadedError`, with the full dotted path, that it has always raised. Hybrids and Python
properties are read with attribute access: they are code the model author wrote, and loader
options make any relationship they touch raise, not load. In a node with such fields the state
reads, and then the node's included relationships (`ShapeNode.guarded_relations`: objects
loaded without loader options would lazy-load them there), are read before them, so the first
error raised is the one the reference raises and no user code runs on an unloaded tree.
Computed fields declared with ``ts.computed`` go through `treeshape.spec.computed.value_reader`
(shared with the other backends): their reads are checked in the instance dicts before the
function runs, so an unloaded one is a ``KeyError`` here and the reference's `NotLoadedError`,
never a lazy load.

Repeated many-to-one targets
----------------------------
A many-to-one target (the same stop under thousands of stop_times) is converted once per call:
each call gets fresh memo dicts, one per memoized node, keyed by ``id(obj)`` (sound because the
objects stay referenced by the tree for the whole call). ``dump()`` hands every later reference
a structural copy of the memoized dict (new dicts and lists down the sub-tree, JSON column values
copied), so mutating one stop of the output never changes another: the output stays a tree of
distinct containers, exactly as before the memo. ``dump_json()`` shares the dict (its dicts never
escape orjson), so it pays nothing for repeats.

JSON bytes
----------
``dump_json`` compiles a second variant whose values are left to orjson wherever orjson's output
is byte-for-byte Pydantic's JSON mode (checked in ``tests/test_dumper.py``): naive ``datetime``,
aware ``datetime`` with a ``timezone``/``ZoneInfo`` offset in whole minutes (with
``OPT_UTC_Z``: UTC as ``Z``), ``date``, ``UUID`` and enums whose values are JSON scalars.
Python keeps what orjson formats differently: ``Decimal`` (a string), every ``time`` (orjson
3.13 drops a digit for 10,000-99,999 microseconds, ``"00:00:00.10000"``, and refuses aware
times), offsets with seconds (orjson rounds them, Pydantic truncates), JSON columns and untyped
values (non-string keys, tuples, nested non-JSON values). Exact class tests send subclasses
(which orjson rejects) through Python as well.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import heapq
import keyword
import linecache
import threading
import uuid
import weakref
import zoneinfo
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from ..errors import NotLoadedError
from ..inspection import FieldInfo
from ..spec.computed import value_reader
from ..sql.counting import count_attribute
from ..tree import RelationNode, ShapeNode, memoize
from ..values import (
    _date_to_json,
    _datetime_to_json,
    _decimal_to_json,
    _enum_to_json,
    _time_to_json,
    _uuid_to_json,
    converter_for,
)

__all__ = [
    "JSON_OPTIONS",
    "Factory",
    "ObjectDumper",
    "compiled_dumper",
    "compiled_json_dumper",
    "dump_json_many",
    "dump_json_one",
    "dump_many",
    "dump_one",
    "encode_json",
    "object_dumper",
    "reference_dumper",
]

ObjectDumper = Callable[[Any], dict[str, Any]]
Factory = Callable[[], ObjectDumper]

JSON_OPTIONS = orjson.OPT_UTC_Z
"""orjson options of ``dump_json``: UTC offsets as ``Z``, as Pydantic writes them."""

_JSON_SCALARS = (str, int, float, bool, type(None))


# -- the public entry points --------------------------------------------------------------------


def dump_one(node: ShapeNode, obj: Any) -> dict[str, Any]:
    """``obj`` as a JSON-ready dict; `NotLoadedError` (full path) if the tree is not loaded."""
    try:
        return compiled_dumper(node)()(obj)
    except KeyError:
        reference_dumper(node)(obj)
        raise  # the reference found nothing missing: the KeyError came from user code


def dump_many(node: ShapeNode, objs: Iterable[Any]) -> list[dict[str, Any]]:
    """Several objects, one memo for all of them (a stop shared by two routes is dumped once)."""
    items = objs if isinstance(objs, list | tuple) else list(objs)
    try:
        dump = compiled_dumper(node)()
        return [dump(obj) for obj in items]
    except KeyError:
        reference = reference_dumper(node)
        for obj in items:
            reference(obj)
        raise


def dump_json_one(node: ShapeNode, obj: Any) -> bytes:
    """``orjson.dumps(dump_one(node, obj))``, without converting what orjson writes alike."""
    try:
        document = compiled_json_dumper(node)()(obj)
    except KeyError:
        reference_dumper(node)(obj)
        raise
    return encode_json(document)


def dump_json_many(node: ShapeNode, objs: Iterable[Any]) -> bytes:
    """``orjson.dumps(dump_many(node, objs))``, the JSON way."""
    items = objs if isinstance(objs, list | tuple) else list(objs)
    try:
        dump = compiled_json_dumper(node)()
        documents = [dump(obj) for obj in items]
    except KeyError:
        reference = reference_dumper(node)
        for obj in items:
            reference(obj)
        raise
    return encode_json(documents)


def encode_json(document: Any) -> bytes:
    """``document`` as JSON bytes; integers past orjson's 64 bits are written in full.

    orjson refuses integers outside ``[-2**63, 2**64)``; JSON has no such limit and Pydantic
    writes them whole, so on that refusal (only then: the walk costs a pass over the document)
    each such integer is given to orjson as a `orjson.Fragment` of its digits.
    """
    try:
        return orjson.dumps(document, option=JSON_OPTIONS)
    except orjson.JSONEncodeError as error:
        if "Integer exceeds 64-bit range" not in str(error):
            raise
    return orjson.dumps(_wide_integers_as_fragments(document), option=JSON_OPTIONS)


def _wide_integers_as_fragments(value: Any) -> Any:
    if type(value) is int and not -(2**63) <= value < 2**64:
        return orjson.Fragment(str(value).encode())
    if type(value) is dict:
        return {key: _wide_integers_as_fragments(item) for key, item in value.items()}
    if type(value) is list:
        return [_wide_integers_as_fragments(item) for item in value]
    return value


@memoize
def compiled_dumper(node: ShapeNode) -> Factory:
    """A factory of dump functions for ``node`` (dict output); call it once per dump call."""
    return _Compiler(json=False).compile(node)


@memoize
def compiled_json_dumper(node: ShapeNode) -> Factory:
    """Like `compiled_dumper`, leaving orjson-native values to orjson (for ``dump_json``)."""
    return _Compiler(json=True).compile(node)


def object_dumper(node: ShapeNode) -> ObjectDumper:
    """A function turning one object of ``node.model`` into its JSON-ready dict."""

    def dump(obj: Any) -> dict[str, Any]:
        return dump_one(node, obj)

    return dump


# -- the reference walk: the definition of the error semantics ----------------------------------


def _prefixed(error: NotLoadedError, name: str) -> NotLoadedError:
    path = f"{name}.{error.path}" if error.path else name
    return NotLoadedError(error.model_name, error.attribute, path)


@memoize
def reference_dumper(node: ShapeNode) -> ObjectDumper:
    """The straightforward closure walk. Slow; run only to raise the exact error on a miss.

    Order of reads: state fields, then the relationships a hybrid or property might read
    (`ShapeNode.guarded_relations`), then computed fields, then each relationship (its state
    key, then its objects). The compiled code reads in the same order.
    """
    model_name = node.info.name
    key = node.key
    guarded = node.guarded_relations
    state_fields = [
        (f.name, key(f.name), converter_for(f.python_type))
        for f in node.fields
        if f.loaded_from_state
    ]
    computed_fields = [
        (f.name, key(f.name), converter_for(f.python_type), _reader(f, NotLoadedError))
        for f in node.fields
        if not f.loaded_from_state
    ]
    order = list(node.keys.values())
    relations = [
        (rel.name, key(rel.name), rel.many, reference_dumper(rel.child))
        for rel in node.relations
        if rel.render == "objects"
    ]
    specials = [r for r in node.relations if r.render == "ids" or r.options.count is not None]

    def dump(obj: Any) -> dict[str, Any]:
        state = obj.__dict__
        out: dict[str, Any] = {}
        for name, output, convert in state_fields:
            try:
                value = state[name]
            except KeyError:
                raise NotLoadedError(model_name, name, name) from None
            out[output] = value if convert is None or value is None else convert(value)
        for name in guarded:
            if name not in state:
                raise NotLoadedError(model_name, name, name)
        for _name, output, convert, read in computed_fields:
            value = read(obj)
            out[output] = value if convert is None or value is None else convert(value)
        for name, output, many, child in relations:
            try:
                value = state[name]
            except KeyError:
                raise NotLoadedError(model_name, name, name) from None
            try:
                if many:
                    out[output] = [child(item) for item in value]
                else:
                    out[output] = None if value is None else child(value)
            except NotLoadedError as error:
                raise _prefixed(error, name) from None
        for rel in specials:
            _reference_specials(rel, obj, state, out, key)
        if computed_fields or specials:
            return {output: out[output] for output in order}
        return out

    return dump


def _reader(info: FieldInfo, missing: type[Exception]) -> Callable[[Any], Any]:
    """How a field that is not state is read: a computed field through `value_reader` (its
    reads checked first, so an unloaded one raises instead of lazy-loading), a hybrid or a
    property by attribute access."""
    if info.computed is not None:
        return value_reader(info, missing=missing)
    name = info.name
    return lambda obj: getattr(obj, name)


def _reference_specials(
    rel: RelationNode, obj: Any, state: dict[str, Any], out: Any, key: Callable[[str], str]
) -> None:
    """Ids and counts, the reference way (``NotLoadedError`` naming what is missing); ``key``
    is the parent's output key of an attribute."""
    model_name = rel.info.model.__name__

    def read(source: dict[str, Any], key: str, label: str) -> Any:
        try:
            return source[key]
        except KeyError:
            raise NotLoadedError(model_name, label, rel.name) from None

    def key_of(values: list[Any]) -> Any:
        converted = [
            v if (c := converter_for(f.python_type)) is None or v is None else c(v)
            for f, v in zip(rel.child.fields, values, strict=True)
        ]
        return converted[0] if len(converted) == 1 else converted

    if rel.render == "ids":
        if rel.many:
            items = read(state, rel.name, rel.name)
            out[key(rel.name)] = [
                key_of([read(x.__dict__, f.name, rel.name) for f in rel.child.fields])
                for x in items
            ]
        else:
            values = [read(state, local, local) for local in list(rel.id_locals)]
            out[key(rel.name)] = None if None in values else key_of(values)
    if rel.options.count is not None:
        out[key(rel.options.count)] = read(state, count_attribute(rel), rel.options.count)


# -- code generation ----------------------------------------------------------------------------


def _json_copy(value: Any) -> Any:
    """A copy of a converted JSON value: new dicts and lists, shared scalars."""
    if isinstance(value, dict):
        return {key: _json_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_copy(item) for item in value]
    return value


def _json_datetime(value: Any) -> Any:
    """An aware (or unusual) datetime for orjson: itself where orjson writes Pydantic's form."""
    if value is None:
        return None
    if value.__class__ is dt.datetime and value.tzinfo.__class__ in _ORJSON_TZ:
        offset = value.utcoffset()
        if offset is not None and not (offset.seconds % 60 or offset.microseconds):
            return value
    return _datetime_to_json(value)


_ORJSON_TZ = (dt.timezone, zoneinfo.ZoneInfo)


class _SourceSlots:
    """Numbers for generated sources' file names, reused once a dumper is gone.

    CPython keeps every distinct code file name for the life of the process, so a name per
    compiled dumper would grow with every narrowing a server ever sees; reused numbers keep
    the names as many as the dumpers alive at once.
    """

    def __init__(self) -> None:
        self._free: list[int] = []
        self._next = 0
        self._lock = threading.Lock()

    def take(self) -> int:
        with self._lock:
            if self._free:
                return heapq.heappop(self._free)
            self._next += 1
            return self._next

    def give_back(self, slot: int, filename: str) -> None:
        linecache.cache.pop(filename, None)
        with self._lock:
            heapq.heappush(self._free, slot)


_source_slots = _SourceSlots()


def _enum_is_scalar(cls: type[enum.Enum]) -> bool:
    return all(isinstance(member.value, _JSON_SCALARS) for member in cls)


class _Compiler:
    """Writes the source of one shape tree's dump functions and ``exec``-s it."""

    def __init__(self, *, json: bool) -> None:
        self.json = json
        self.names: dict[int, str] = {}
        self.index: dict[str, int] = {}
        self.nodes: list[ShapeNode] = []
        self.memoized: set[str] = set()
        self.copied: set[str] = set()
        self.constants: dict[str, Any] = {}

    def compile(self, root: ShapeNode) -> Factory:
        self._number(root)
        body: list[str] = []
        for node in reversed(self.nodes):
            body += self._node_function(node)
        for name in sorted(self.memoized):
            body += self._memo_function(name)
        for node in self.nodes:  # parents first: a copied node's children are copied too
            if self.names[id(node)] in self.copied:
                self.copied.update(
                    self.names[id(rel.child)] for rel in node.relations if rel.render == "objects"
                )
        for node in reversed(self.nodes):
            if self.names[id(node)] in self.copied:
                body += self._copy_function(node)
        source = ["def _factory():"]
        source += [f"    m{i} = {{}}" for i in sorted(self.index[n] for n in self.memoized)]
        source += ["    " + line for line in body]
        source.append(f"    return {self.names[id(root)]}")
        text = "\n".join(source) + "\n"
        namespace: dict[str, Any] = dict(self.constants)
        kind = "json dumper" if self.json else "dumper"
        slot = _source_slots.take()
        filename = f"<treeshape {kind} #{slot}>"
        exec(compile(text, filename, "exec"), namespace)
        # Out of its own globals: no reference cycle, so an evicted dumper is freed at once.
        factory: Factory = namespace.pop("_factory")
        factory.__doc__ = text  # the generated source, for debugging
        # Tracebacks through generated code show its lines; the entry and its file name go
        # with the dumper.
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
        weakref.finalize(factory, _source_slots.give_back, slot, filename)
        return factory

    def _number(self, node: ShapeNode, path: str = "") -> None:
        """Give each distinct node a function named after its model and (first) path."""
        if id(node) in self.names:
            return
        index = len(self.nodes)
        where = path.replace(".", "__") if path else "root"
        self.names[id(node)] = f"dump_{node.info.name}_{where}_{index}"
        self.index[self.names[id(node)]] = index
        self.nodes.append(node)
        for rel in node.relations:
            if rel.render == "objects":
                self._number(rel.child, f"{path}.{rel.name}" if path else rel.name)

    def _constant(self, value: Any, hint: str) -> str:
        for name, existing in self.constants.items():
            if existing is value:
                return name
        name = f"_{hint}{len(self.constants)}"
        self.constants[name] = value
        return name

    # -- values

    def _value(self, info: FieldInfo, read: str) -> str:
        """An expression of the converted value of ``read`` (an expression, evaluated once)."""
        python_type = info.python_type
        convert = converter_for(python_type)
        if convert is None:
            return read
        if self.json and convert is _datetime_to_json:
            # Aware values: orjson writes those with whole-minute offsets as Pydantic does.
            convert = _json_datetime
        fallback = self._constant(convert, "c")
        if not isinstance(python_type, type):
            return f"(None if (v := {read}) is None else {fallback}(v))"
        fast = self._fast(python_type)
        if fast is None:
            return f"(None if (v := {read}) is None else {fallback}(v))"
        test, result = fast
        # ``None`` fails the class test and the converter returns it unchanged... except that
        # the converters are not called on None: keep today's explicit None test.
        return f"(v if (v := {read}) is None else {result} if {test} else {fallback}(v))"

    def _fast(self, python_type: type) -> tuple[str, str] | None:
        """(class test, value when it passes) for types with an inline fast path."""
        json = self.json
        if issubclass(python_type, enum.Enum):
            if not _enum_is_scalar(python_type):
                return None
            cls = self._constant(python_type, "E")
            return f"v.__class__ is {cls}", "v" if json else "v._value_"
        if issubclass(python_type, dt.datetime):
            cls = self._constant(dt.datetime, "datetime")
            test = f"v.__class__ is {cls} and v.tzinfo is None"
            return test, "v" if json else "v.isoformat()"
        if issubclass(python_type, dt.date):
            cls = self._constant(dt.date, "date")
            return f"v.__class__ is {cls}", "v" if json else "v.isoformat()"
        if issubclass(python_type, dt.time):
            cls = self._constant(dt.time, "time")
            # Never native: orjson 3.13 writes 10,000-99,999 microseconds one digit short
            # ("00:00:00.10000" for .010000), and refuses aware times.
            return f"v.__class__ is {cls} and v.tzinfo is None", "v.isoformat()"
        if issubclass(python_type, decimal.Decimal):
            cls = self._constant(decimal.Decimal, "Decimal")
            return f"v.__class__ is {cls}", f"{self._constant(str, 'str')}(v)"
        if issubclass(python_type, uuid.UUID):
            cls = self._constant(uuid.UUID, "UUID")
            return f"v.__class__ is {cls}", "v" if json else f"{self._constant(str, 'str')}(v)"
        return None

    def _field(self, info: FieldInfo) -> str:
        if info.loaded_from_state:
            read = f"d[{info.name!r}]"
        elif info.computed is not None:
            # An unloaded read raises KeyError here: the reference then names its path.
            read = f"{self._constant(value_reader(info, missing=KeyError), 'k')}(o)"
        elif info.name.isidentifier() and not keyword.iskeyword(info.name):
            read = f"o.{info.name}"
        else:
            read = f"{self._constant(getattr, 'getattr')}(o, {info.name!r})"
        return self._value(info, read)

    def _relation_items(self, rel: RelationNode) -> list[tuple[str, str]]:
        """(attribute, expression) of each key ``rel`` adds: the relationship, its count
        (the parent's `ShapeNode.key` gives the output key)."""
        items: list[tuple[str, str]] = []
        if rel.render != "none":
            items.append((rel.name, self._ids(rel) if rel.render == "ids" else self._relation(rel)))
        if rel.options.count is not None:
            items.append((rel.options.count, f"d[{count_attribute(rel)!r}]"))
        return items

    def _key_value(self, rel: RelationNode, read: str) -> str:
        """The id of one target: its converted key, a list for a composite key."""
        parts = [self._value(f, read.format(key=f.name)) for f in rel.child.fields]
        return parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"

    def _ids(self, rel: RelationNode) -> str:
        if rel.many:
            return f"[{self._key_value(rel, 'x.__dict__[{key!r}]')} for x in d[{rel.name!r}]]"
        locals_ = list(rel.id_locals)
        values = [
            self._value(f, f"d[{local!r}]")
            for f, local in zip(rel.child.fields, locals_, strict=True)
        ]
        if len(values) == 1:
            return values[0]
        test = " or ".join(f"d[{local!r}] is None" for local in locals_)
        return f"(None if {test} else [{', '.join(values)}])"

    def _relation(self, rel: RelationNode) -> str:
        child = self.names[id(rel.child)]
        read = f"d[{rel.name!r}]"
        if rel.many:
            return f"[{child}(x) for x in {read}]"
        if rel.info.direction == "many_to_one":
            self.memoized.add(child)
            if not self.json:
                self.copied.add(child)
            index = self.index[child]
            hit = f"c{index}(r)" if child in self.copied else "r"
            # The hit is inline (no call); the miss calls g, which dumps and remembers.
            return (
                f"(None if (t := {read}) is None else "
                f"{hit} if (r := m{index}.get(id(t))) is not None else g{index}(t))"
            )
        return f"(None if (t := {read}) is None else {child}(t))"

    # -- functions

    def _node_function(self, node: ShapeNode) -> list[str]:
        name = self.names[id(node)]
        lines = [f"def {name}(o):", "    d = o.__dict__"]
        computed = [f for f in node.fields if not f.loaded_from_state]
        if not computed:
            items = [f"{node.key(f.name)!r}: {self._field(f)}" for f in node.fields]
            for rel in node.relations:
                items += [f"{node.key(a)!r}: {expr}" for a, expr in self._relation_items(rel)]
            lines.append("    return {" + ", ".join(items) + "}")
            return lines
        # The reference's order of reads: state fields, guarded relationships, computed
        # fields, relations; output in order.
        local: dict[str, str] = {}
        state = [f for f in node.fields if f.loaded_from_state]
        for i, f in enumerate(state + computed):
            if i == len(state):
                # Before any hybrid or property: an unloaded relationship is a KeyError here,
                # not a lazy load in user code (`ShapeNode.guarded_relations`).
                lines += [f"    d[{name!r}]" for name in node.guarded_relations]
            local[f.name] = f"f{i}"
            lines.append(f"    f{i} = {self._field(f)}")
        order = [f.name for f in node.fields]
        for rel in node.relations:
            for key, expr in self._relation_items(rel):
                local[key] = f"r{len(order)}"
                lines.append(f"    r{len(order)} = {expr}")
                order.append(key)
        pairs = (f"{node.key(n)!r}: {local[n]}" for n in order)
        lines.append("    return {" + ", ".join(pairs) + "}")
        return lines

    def _memo_function(self, child: str) -> list[str]:
        """The miss path of a memoized relation: dump the target and remember it."""
        index = self.index[child]
        return [f"def g{index}(t):", f"    r = m{index}[id(t)] = {child}(t)", "    return r"]

    def _copy_function(self, node: ShapeNode) -> list[str]:
        """A structural copy of a node's output: new containers all the way down."""
        name = self.names[id(node)]
        index = self.index[name]
        items: list[str] = []
        json_copy = self._constant(_json_copy, "copy")
        for f in node.fields:
            if _may_hold_container(f.python_type):
                key = node.key(f.name)
                items.append(f"{key!r}: {json_copy}(r[{key!r}])")
        for rel in node.relations:
            if rel.render == "none":
                continue
            key = node.key(rel.name)
            if rel.render == "ids":
                items.append(f"{key!r}: {json_copy}(r[{key!r}])")
                continue
            ci = self.index[self.names[id(rel.child)]]
            if rel.many:
                items.append(f"{key!r}: [c{ci}(x) for x in r[{key!r}]]")
            else:
                items.append(f"{key!r}: (None if (y := r[{key!r}]) is None else c{ci}(y))")
        if not items:
            return [f"def c{index}(r):", "    return r.copy()"]
        return [f"def c{index}(r):", "    return {**r, " + ", ".join(items) + "}"]


_SCALAR_CONVERTERS = (
    _date_to_json,
    _datetime_to_json,
    _decimal_to_json,
    _time_to_json,
    _uuid_to_json,
)


def _may_hold_container(python_type: Any) -> bool:
    """Whether converted values of this type can be a dict or a list (JSON columns, ...)."""
    converter = converter_for(python_type)
    if converter is None or converter in _SCALAR_CONVERTERS:
        return False
    if converter is _enum_to_json:
        return not _enum_is_scalar(python_type)
    return True
