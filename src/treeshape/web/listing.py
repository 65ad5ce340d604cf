"""Paginated list endpoints: `ListEndpoint`, one request's `PageQuery`, and its `Page`.

A list endpoint answers a page of roots: ``?limit=`` rows (at most the declared ``max_limit``),
either from ``?offset=`` (offset pages) or after/before an opaque ``?after=``/``?before=``
cursor (keyset pages), in the order of ``?sort=`` (declared sortable output columns, each
with an optional leading ``-``; the primary key always breaks ties, so the order is total and
a keyset walk visits every row exactly once, NULLs included: they sort as the largest values,
as everywhere in treeshape). ``?total=true`` asks for the number of matching rows, where the
endpoint declares ``total=True``.

The convention, the same in both apps: the body stays the bare JSON array of the shape's
documents (what ``dump_json(many=True)`` and ``fetch_json`` give), and the links travel in an
RFC 8288 ``Link`` header (``rel="first"``, ``"prev"``, ``"next"``: GitHub's and flask-smorest's
choice), the total in ``X-Total-Count``. A link is relative (path and query, no host: nothing
taken from a ``Host`` header) and keeps the request's other parameters (``include``,
``fields[...]``, ``sort``, ``limit``).

A page is one statement more than nothing: the page asks for ``limit + 1`` rows and the
extra row (never output) says whether there is a next page; the keyset condition and the
order are ordinary criteria and ORDER BY items (`PageQuery.criteria`, `PageQuery.order_by`),
so the same page runs through `Shape.fetch`/`Shape.fetch_json` (`PageQuery.fetch`) or the ORM
with ``loader_options()`` (`PageQuery.statement`), in the number of statements of a plain
query, plus one ``count(*)`` when the total is asked.

Cursors are opaque and tamper-checked: the boundary row's sort values, the sort they were
made for, and an HMAC-SHA256 tag. Without ``secret=`` the key is derived from the endpoint's
declaration, which catches a cursor edited by hand, cut, or made for another endpoint or
sort, and works across worker processes, but does not stop a determined forger; give a
``secret`` in production. A forged cursor can only start a page at chosen values of sortable
output columns (decoded and typed like any input), never reach other rows. Any bad cursor is
the documented 400.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

import orjson
import sqlalchemy as sa
from pydantic import TypeAdapter

from ..backends.dumper import encode_json
from ..errors import SpecError, name_list
from ..shape import Shape
from ..sql.clauses import NullsLargest
from .endpoint import EndpointShape
from .narrowing import Narrowing
from .paging import parse_sort, sortable_columns
from .problems import Problem, Problems, QueryError, shown

__all__ = [
    "AFTER",
    "BEFORE",
    "LIMIT",
    "LIST_PARAMETERS",
    "OFFSET",
    "SORT",
    "TOTAL",
    "ListEndpoint",
    "Page",
    "PageQuery",
]

LIMIT = "limit"
OFFSET = "offset"
AFTER = "after"
BEFORE = "before"
SORT = "sort"
TOTAL = "total"
LIST_PARAMETERS = (LIMIT, OFFSET, AFTER, BEFORE, SORT, TOTAL)
"""The root-level parameters of a list endpoint, in documentation order."""

_MAX_DIGITS = 9  # digits read as an integer: no bignum parsing of junk
_TAG_BYTES = 16  # of the HMAC-SHA256 tag: 128 bits
_BAD_CURSOR = (
    "{name}: not a cursor this endpoint gave out for this sort (cursors are opaque: follow "
    "the Link header's next or prev link, or leave {name} out for the first page)."
)

_CURSOR_PATTERN = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"
_CURSOR_EXAMPLE = "eyJzIjoiIiwidiI6WzFdfQ.LlX0aOQtqbeE5PAZ9xJ0Ig"  # the form only: its tag fails

Direction = Literal["after", "before"]
Order = tuple[tuple[str, bool], ...]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, eq=False)
class _Key:
    """One column of the keyset: its name, how its values go to and from JSON."""

    name: str
    nullable: bool
    adapter: TypeAdapter[Any]

    def to_json(self, value: Any) -> Any:
        return self.adapter.dump_python(value, mode="json")

    def from_json(self, value: Any) -> Any:
        if value is None:
            if not self.nullable:
                raise ValueError(f"{self.name} is not nullable")
            return None
        # Strict for JSON's own types (a number never becomes a string key), lax for the
        # text forms of dates, decimals and UUIDs that JSON mode writes.
        return self.adapter.validate_python(value)


class ListEndpoint:
    """A list endpoint: a page of roots of ``shape``, narrowed like any endpoint.

    ``max_limit`` bounds ``?limit=`` (``default_limit`` without it), ``max_offset`` bounds
    ``?offset=``; ``sortable`` lists the root's output columns ``?sort=`` may name
    (``default_sort``, as ``?sort=`` would write it, orders a request without one; the primary
    key otherwise, and always as the last tie-breaker); ``total=True`` lets a request ask for
    ``X-Total-Count`` (one ``count(*)`` more); ``secret`` keys the cursors' HMAC. Every other
    keyword (``max_page``, ``sortable_collections`` as the nested ``sortable``, ``limits``, ...)
    goes to the `EndpointShape` that narrows ``include``, ``fields[...]``, ``page[...]``,
    ``sort[...]``; it is `endpoint`.
    """

    def __init__(
        self,
        shape: Shape,
        *,
        max_limit: int = 100,
        default_limit: int | None = None,
        max_offset: int = 1_000_000,
        sortable: Iterable[str] = (),
        default_sort: str | None = None,
        total: bool = False,
        secret: bytes | str | None = None,
        sortable_collections: dict[str, Iterable[str]] | None = None,
        **endpoint: Any,
    ) -> None:
        self.endpoint = EndpointShape(shape, sortable=sortable_collections, **endpoint)
        self.shape = shape
        info = shape.node.info
        for value, what, low in ((max_limit, "max_limit", 1), (max_offset, "max_offset", 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise SpecError(
                    f"ListEndpoint({what}=...) must be an integer >= {low}, got {value!r}."
                )
        default_limit = min(max_limit, 50) if default_limit is None else default_limit
        if (
            isinstance(default_limit, bool)
            or not isinstance(default_limit, int)
            or not (1 <= default_limit <= max_limit)
        ):
            raise SpecError(
                f"ListEndpoint(default_limit=...) must be an integer from 1 to max_limit "
                f"({max_limit}), got {default_limit!r}."
            )
        self.max_limit = max_limit
        self.default_limit = default_limit
        self.max_offset = max_offset
        self.total = bool(total)
        listed = sortable_columns(
            shape.node, sortable, declared="ListEndpoint(sortable=...)", subject=info.name
        )
        if len(set(listed)) != len(listed):
            raise SpecError(
                f"ListEndpoint(sortable=...) must list distinct fields, got {listed!r}."
            )
        self.sortable: tuple[str, ...] = tuple(listed)
        # Requests name sort fields by their output keys, as everywhere (``sort=-stopName``);
        # declarations (``sortable``, ``default_sort``) by attribute names.
        self._sort_attributes = {shape.node.key(n): n for n in listed}
        self.primary_key: tuple[str, ...] = tuple(info.primary_key)
        self._keys: dict[str, _Key] = {}
        for name in (*listed, *self.primary_key):
            column = info.columns[name]
            try:
                adapter: TypeAdapter[Any] = TypeAdapter(column.python_type)
            except Exception as error:  # pydantic cannot type it: no cursor can carry it
                raise SpecError(
                    f"ListEndpoint: {info.name}.{name} ({column.python_type!r}) cannot be a "
                    f"cursor key: {error}"
                ) from None
            self._keys[name] = _Key(name, column.nullable and name not in self.primary_key, adapter)
        self.default_sort: Order = ()
        if default_sort is not None:
            problems = Problems()
            order = self._parse_sort(default_sort, problems, declared=True)
            if order is None:
                detail = problems.error().problems[0].detail
                raise SpecError(f"ListEndpoint(default_sort={default_sort!r}): {detail}")
            self.default_sort = order
        clash = [p for p in self.endpoint.paths if p.split(".")[0] in LIST_PARAMETERS]
        if clash:
            # page[offset] of a relationship named offset would be ambiguous to read.
            raise SpecError(
                f"ListEndpoint: {info.name}'s relationship {clash[0].split('.')[0]!r} has the "
                f"name of a list parameter ({name_list(LIST_PARAMETERS)}); rename it or list it "
                f"with a plain EndpointShape."
            )
        material = secret if secret is not None else f"treeshape:{shape!r}:{self.sortable}"
        self._secret = material.encode() if isinstance(material, str) else bytes(material)
        self.parameter_names: tuple[str, ...] = (
            *self.endpoint.parameter_names,
            *(p for p in LIST_PARAMETERS if p != TOTAL or self.total),
        )

    def __repr__(self) -> str:
        return f"<ListEndpoint {self.shape!r}>"

    # -- documentation ------------------------------------------------------------------------

    def describe(self, parameter: str) -> str:
        """A human description of ``parameter`` for API documentation (OpenAPI)."""
        if parameter == LIMIT:
            return f"Rows per page, from 1 to {self.max_limit} (default {self.default_limit})."
        if parameter == OFFSET:
            return (
                f"Rows to skip, from 0 to {self.max_offset}: an offset page (its Link header "
                "links offset pages). Not with after or before."
            )
        if parameter in (AFTER, BEFORE):
            return (
                f"An opaque cursor from a Link header: the page of rows {parameter} it, in the "
                "same sort. Not with offset, nor with the other cursor."
            )
        if parameter == SORT:
            node = self.shape.node
            default = ",".join(
                f"-{node.key(n)}" if desc else node.key(n) for n, desc in self.default_sort
            ) or name_list(node.key(k) for k in self.primary_key)
            return (
                "Comma-separated fields to order by, each with an optional leading '-' for "
                f"descending, among: {name_list(self._sort_attributes)}; the primary key breaks "
                "ties; "
                f"NULLs sort as the largest values. Default: {default}."
            )
        if parameter == TOTAL:
            return "true: the number of matching rows in the X-Total-Count header."
        return self.endpoint.describe(parameter)

    def parameter_schema(self, parameter: str) -> dict[str, Any]:
        """The JSON Schema of ``parameter``'s value, for OpenAPI documents: its name as the
        title and an example its own schema accepts."""
        if parameter not in LIST_PARAMETERS:
            return self.endpoint.parameter_schema(parameter)
        schema: dict[str, Any]
        if parameter == LIMIT:
            schema = {"type": "integer", "minimum": 1, "maximum": self.max_limit}
            # No "default" keyword: FastAPI writes its own (none) there; the description says it.
            schema["examples"] = [self.default_limit]
        elif parameter == OFFSET:
            schema = {"type": "integer", "minimum": 0, "maximum": self.max_offset}
            schema["examples"] = [min(self.default_limit, self.max_offset)]
        elif parameter in (AFTER, BEFORE):
            schema = {"type": "string", "pattern": _CURSOR_PATTERN, "examples": [_CURSOR_EXAMPLE]}
        elif parameter == SORT:
            keys = list(self._sort_attributes)
            names = "|".join(keys) or "(?!)"  # keys the query syntax spells: no regex syntax
            item = f"-?(?:{names})"
            schema = {"type": "string", "pattern": f"^{item}(?:,{item})*$"}
            schema["examples"] = [f"-{keys[0]}" if keys else ""]
        else:
            schema = {"type": "boolean", "examples": [True]}
        return {"title": parameter, **schema}

    def response_headers(self) -> dict[str, dict[str, Any]]:
        """The OpenAPI ``headers`` of a 200: ``Link`` and, with ``total=True``,
        ``X-Total-Count``."""
        headers: dict[str, dict[str, Any]] = {
            "Link": {
                "description": 'RFC 8288 links to the first, previous and next page (rel="first", '
                '"prev", "next"), relative to this server; "next" and "prev" are left out where '
                "there is no such page.",
                "schema": {"type": "string"},
            }
        }
        if self.total:
            headers["X-Total-Count"] = {
                "description": "The number of matching rows, with total=true.",
                "schema": {"type": "integer", "minimum": 0},
            }
        return headers

    # -- the request path ---------------------------------------------------------------------

    def from_query(self, params: Iterable[tuple[str, str]], *, path: str) -> PageQuery:
        """The page a request asks for; `QueryError` (every problem, as a 400) if it does not
        fit. ``params`` are every ``(name, value)`` pair of the query, repeats included;
        ``path`` is the request's path, which the links repeat."""
        pairs = list(params)
        ours: dict[str, str] = {}
        rest: list[tuple[str, str]] = []
        problems = Problems()
        for name, value in pairs:
            if name in LIST_PARAMETERS:
                if name in ours:
                    problems.add(
                        Problem(
                            name,
                            shown(value),
                            f"{name} is given more than once; give it once.",
                        )
                    )
                    continue
                ours[name] = value
            else:
                rest.append((name, value))
        narrowing: Narrowing | None = None
        try:
            narrowing = self.endpoint.parse(rest)
        except QueryError as error:
            for problem in error.problems:
                problems.add(problem)
        limit = self._integer(ours, LIMIT, 1, self.max_limit, problems)
        offset = self._integer(ours, OFFSET, 0, self.max_offset, problems)
        order = self.default_sort
        if SORT in ours:
            parsed = self._parse_sort(ours[SORT], problems)
            order = parsed if parsed is not None else order
        total = False
        if TOTAL in ours and not self.total:
            problems.add(
                Problem(
                    TOTAL,
                    shown(ours[TOTAL]),
                    "This endpoint does not count its rows; leave total out.",
                )
            )
        elif TOTAL in ours:
            if ours[TOTAL] in ("true", "false"):
                total = ours[TOTAL] == "true"
            else:
                problems.add(
                    Problem(
                        TOTAL, shown(ours[TOTAL]), "total must be true or false.", ("true", "false")
                    )
                )
        cursors = [name for name in (AFTER, BEFORE) if name in ours]
        given = [*cursors, *([OFFSET] if OFFSET in ours else [])]
        direction: Direction | None = None
        boundary: tuple[Any, ...] | None = None
        if len(given) > 1:
            problems.add(
                Problem(
                    given[1],
                    shown(ours[given[1]]),
                    f"{' and '.join(given)} cannot be combined: a page starts at an offset or "
                    "at one cursor.",
                    (AFTER, BEFORE, OFFSET),
                )
            )
        elif cursors:
            direction = "after" if cursors[0] == AFTER else "before"
            boundary = self._decode(cursors[0], ours[cursors[0]], order, problems)
        if problems:
            raise problems.error()
        assert narrowing is not None
        shape = self.endpoint.narrow(narrowing)
        kept = [(n, v) for n, v in pairs if n not in (OFFSET, AFTER, BEFORE)]
        return PageQuery(
            endpoint=self,
            shape=shape,
            limit=limit if limit is not None else self.default_limit,
            offset=offset,
            order=order,
            direction=direction,
            boundary=boundary,
            total=total,
            path=path,
            params=tuple(kept),
        )

    def _integer(
        self, ours: dict[str, str], name: str, low: int, high: int, problems: Problems
    ) -> int | None:
        if name not in ours:
            return None
        text = ours[name]
        if (
            text.isascii()
            and text.isdigit()
            and len(text) <= _MAX_DIGITS
            and low <= int(text) <= high
        ):
            return int(text)
        problems.add(Problem(name, shown(text), f"{name} must be an integer from {low} to {high}."))
        return None

    def _parse_sort(
        self, value: str, problems: Problems, *, declared: bool = False
    ) -> Order | None:
        """``value`` as an order of attribute names; requests spell the fields by their output
        keys, ``default_sort`` (``declared``) by attribute names."""
        by_key = {n: n for n in self.sortable} if declared else self._sort_attributes
        allowed = tuple(by_key)
        order: tuple[tuple[str, bool], ...] | None = None
        if not allowed:
            detail = "This endpoint declares no field to sort by; leave sort out."
        else:
            aliases = {a: k for k, a in by_key.items()}
            subject = self.shape.node.info.name
            order, problem = parse_sort(value, allowed, aliases, subject=subject)
            detail = problem() if order is None else ""
        if order is None:
            problems.add(
                Problem(
                    SORT, shown(value), f"{detail} Sortable fields: {name_list(allowed)}.", allowed
                )
            )
            return None
        return tuple((by_key[key], descending) for key, descending in order)

    # -- cursors ------------------------------------------------------------------------------

    def keys(self, order: Order) -> tuple[tuple[str, bool], ...]:
        """The keyset of ``order``: its fields, then the primary key (ascending) as tie-breaker."""
        named = {name for name, _ in order}
        return (*order, *((k, False) for k in self.primary_key if k not in named))

    def _tag(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()[:_TAG_BYTES]

    def encode(self, order: Order, values: Sequence[Any]) -> str:
        """A cursor for the row whose keyset values (JSON form) are ``values``, in ``order``."""
        payload = orjson.dumps({"s": _sort_text(order), "v": list(values)})
        return f"{_b64(payload)}.{_b64(self._tag(payload))}"

    def _decode(
        self, name: str, text: str, order: Order, problems: Problems
    ) -> tuple[Any, ...] | None:
        """The Python values of a cursor, or ``None`` after recording the 400."""
        bad = Problem(name, shown(text), _BAD_CURSOR.format(name=name))
        if len(text) > self.endpoint.limits.max_length or text.count(".") != 1:
            problems.add(bad)
            return None
        body, tag = text.split(".")
        try:
            payload = _unb64(body)
            ok = hmac.compare_digest(_unb64(tag), self._tag(payload))
        except (binascii.Error, ValueError):
            ok = False
        if not ok:
            problems.add(bad)
            return None
        data = orjson.loads(payload)
        keys = self.keys(order)
        values = data.get("v") if isinstance(data, dict) else None
        if (
            data.get("s") != _sort_text(order)
            or not isinstance(values, list)
            or len(values) != len(keys)
        ):
            problems.add(bad)
            return None
        try:
            return tuple(
                self._keys[key].from_json(value)
                for (key, _), value in zip(keys, values, strict=True)
            )
        except ValueError:  # pydantic's ValidationError too
            problems.add(bad)
            return None


def _sort_text(order: Order) -> str:
    return ",".join(("-" if descending else "") + name for name, descending in order)


def _after(column: Any, value: Any, descending: bool) -> Any:
    """``column`` comes after ``value`` in an order where NULLs are the largest values."""
    if not descending:
        return sa.false() if value is None else sa.or_(column > value, column.is_(None))
    return column.is_not(None) if value is None else column < value


def _equal(column: Any, value: Any) -> Any:
    return column.is_(None) if value is None else column == value


@dataclass(frozen=True, eq=False)
class PageQuery:
    """One request's page: the narrowed shape, how many rows, from where, in which order.

    `criteria` and `order_by` are SQL on the root model and ``limit + 1`` rows are asked
    (the extra row says whether a next page exists): pass them to any query of the roots
    (`statement` for the ORM, `fetch` for `Shape.fetch`), then make the `Page` of the rows
    (`page`, `page_of_documents`).
    """

    endpoint: ListEndpoint
    shape: Shape
    limit: int
    offset: int | None
    order: Order
    direction: Direction | None
    boundary: tuple[Any, ...] | None
    total: bool
    path: str
    params: tuple[tuple[str, str], ...]
    """The request's parameters but ``offset``, ``after`` and ``before``: kept in links."""

    @property
    def reversed(self) -> bool:
        """A ``before`` page reads backwards from its cursor (and is put back in order)."""
        return self.direction == "before"

    def criteria(self, model: Any = None) -> list[Any]:
        """The keyset condition on ``model`` (the root class): rows after (or before) the
        cursor in the page's order; ``[]`` for an offset or first page."""
        if self.boundary is None:
            return []
        entity = model if model is not None else self.shape.node.model
        keys = self.endpoint.keys(self.order)
        alternatives = []
        for i, (name, descending) in enumerate(keys):
            equal = [
                _equal(getattr(entity, n), v)
                for (n, _), v in zip(keys[:i], self.boundary, strict=False)
            ]
            flip = descending != self.reversed
            alternatives.append(
                sa.and_(*equal, _after(getattr(entity, name), self.boundary[i], flip))
            )
        return [sa.or_(*alternatives)]

    def order_by(self, model: Any = None) -> list[Any]:
        """The page's ORDER BY on ``model``: the sort (NULLs largest), then the primary key;
        reversed for a ``before`` page."""
        entity = model if model is not None else self.shape.node.model
        return [
            NullsLargest(getattr(entity, name), descending=descending != self.reversed)
            for name, descending in self.endpoint.keys(self.order)
        ]

    def statement(self, stmt: Any = None) -> Any:
        """``stmt`` (``select(Root)`` by default) as this page: criteria, order, ``limit + 1``,
        offset and the narrowed shape's loader options."""
        model = self.shape.node.model
        stmt = sa.select(model) if stmt is None else stmt
        stmt = stmt.where(*self.criteria(model)).order_by(*self.order_by(model))
        stmt = stmt.limit(self.limit + 1)
        if self.offset:
            stmt = stmt.offset(self.offset)
        return stmt.options(*self.shape.loader_options())

    def count(self, session: Any, *criteria: Any) -> int | None:
        """The number of roots matching ``criteria`` (one statement) if the total is asked."""
        if not self.total:
            return None
        model = self.shape.node.model
        stmt = sa.select(sa.func.count()).select_from(model).where(*criteria)
        return int(session.execute(stmt).scalar_one())

    def load(self, session: Any, *criteria: Any) -> Page:
        """The page through the ORM: the roots matching ``criteria`` loaded with the narrowed
        shape's loader options, dumped by its dumper."""
        stmt = self.statement(sa.select(self.shape.node.model).where(*criteria))
        rows = list(session.scalars(stmt).all())
        return self.page(rows, total=self.count(session, *criteria))

    def fetch(self, session: Any, *criteria: Any, strategy: Any = "auto") -> Page:
        """The page through `Shape.fetch`: one statement per relationship plus one (one with
        the JSON strategy), plus the count if asked. The keyset values come from the
        documents, so they must hold the sort fields and the primary key (`FetchError` if
        ``fields[...]`` left one out: use `load` for such a request)."""
        docs = self.shape.fetch(
            session,
            *criteria,
            *self.criteria(),
            order_by=self.order_by(),
            limit=self.limit + 1,
            offset=self.offset,
            strategy=strategy,
        )
        return self.page_of_documents(docs, total=self.count(session, *criteria))

    def page(self, rows: Sequence[Any], *, total: int | None = None) -> Page:
        """The `Page` of ``rows`` (ORM objects, up to ``limit + 1`` in this query's order)."""
        kept, more = self._cut(list(rows))
        documents = self.shape.dump(kept, many=True)
        keys = self.endpoint.keys(self.order)
        endpoint_keys = self.endpoint._keys

        def values(obj: Any) -> list[Any]:
            return [endpoint_keys[name].to_json(getattr(obj, name)) for name, _ in keys]

        return self._page(documents, kept, values, more, total)

    def page_of_documents(
        self, documents: Sequence[dict[str, Any]], *, total: int | None = None
    ) -> Page:
        """The `Page` of fetched ``documents`` (up to ``limit + 1``, in this query's order)."""
        kept, more = self._cut(list(documents))
        keys = self.endpoint.keys(self.order)
        if kept and self.offset is None:
            missing = [name for name, _ in keys if name not in kept[0]]
            if missing:
                from ..sql.fetch import FetchError

                raise FetchError(
                    f"A keyset page of {self.shape.node.info.name} needs "
                    f"{name_list(missing)} in the fetched documents to make its cursors; "
                    "keep them in fields[...], or load the page with PageQuery.load()."
                )

        def values(doc: Any) -> list[Any]:
            return [doc[name] for name, _ in keys]

        return self._page(kept, kept, values, more, total)

    def _cut(self, rows: list[Any]) -> tuple[list[Any], bool]:
        more = len(rows) > self.limit
        rows = rows[: self.limit]
        if self.reversed:
            rows.reverse()
        return rows, more

    def _page(
        self,
        documents: list[Any],
        rows: list[Any],
        values: Callable[[Any], list[Any]],
        more: bool,
        total: int | None,
    ) -> Page:
        links: dict[str, str] = {"first": self._link({})}
        if self.offset is not None:
            if more:
                links["next"] = self._link({OFFSET: str(self.offset + self.limit)})
            if self.offset > 0:
                back = max(0, self.offset - self.limit)
                links["prev"] = self._link({OFFSET: str(back)} if back else {})
        elif rows:
            encode = self.endpoint.encode
            # Going forward, more rows after means a next page; a page reached backwards has
            # the rows it came from after it. Symmetrically for prev.
            if (more and not self.reversed) or self.direction == "before":
                links["next"] = self._link({AFTER: encode(self.order, values(rows[-1]))})
            if (more and self.reversed) or self.direction == "after":
                links["prev"] = self._link({BEFORE: encode(self.order, values(rows[0]))})
        return Page(list(documents), links, total)

    def _link(self, extra: dict[str, str]) -> str:
        query = urlencode([*self.params, *extra.items()], safe="[],")
        return f"{self.path}?{query}" if query else self.path


@dataclass(frozen=True)
class Page:
    """One page: its documents, its links (``first``, ``prev``, ``next``; relative URLs) and
    the total when asked."""

    data: list[dict[str, Any]]
    links: dict[str, str] = field(default_factory=dict)
    total: int | None = None

    def headers(self) -> dict[str, str]:
        """``Link`` (RFC 8288) and, when the total was asked, ``X-Total-Count``."""
        headers: dict[str, str] = {}
        if self.links:
            headers["Link"] = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in self.links.items())
        if self.total is not None:
            headers["X-Total-Count"] = str(self.total)
        return headers

    def json(self) -> bytes:
        """The body: the documents as a JSON array (compact, as ``dump_json``)."""
        return encode_json(self.data)
