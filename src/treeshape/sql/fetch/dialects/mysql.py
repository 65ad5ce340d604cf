"""MySQL's and MariaDB's JSON strategy: ``JSON_OBJECT`` and an ordered array aggregate.

One dialect serves both servers; where their SQL differs, the difference is decided when the
statement is compiled (SQLAlchemy knows then which server it talks to):

* the array of a collection is ``JSON_ARRAYAGG(doc ORDER BY ...)`` on MariaDB and
  ``GROUP_CONCAT(doc ORDER BY ...)`` between brackets, read back as JSON, on MySQL 8, whose
  ``JSON_ARRAYAGG`` takes no ORDER BY (`ArrayAgg`);
* both aggregates stop at ``group_concat_max_len`` bytes (MariaDB's default cuts a document at
  1 MiB, with only a warning), so the statement raises it for itself alone:
  ``SET STATEMENT ... FOR SELECT`` on MariaDB, a ``SET_VAR`` hint on MySQL (`LongConcatSelect`);
  a document larger than the server's ``max_allowed_packet`` then comes back NULL, never cut
  (`treeshape.sql.fetch.json.NoDocumentText`: ``auto`` runs the Core strategy instead);
* per-parent windows (``limit``/``offset``) number the rows in a derived table that is not
  correlated (both servers refuse a derived table naming the outer query's columns) and keep
  a parent's numbers in the correlated WHERE around it.

Both servers print JSON their own way (``{"a": 1}`` with spaces, ``1e-7`` as ``0.0000001``), so
the document's text is parsed and written again by orjson (`JsonDialect.rewrite`): the bytes
are then exactly ``dump_json``'s, as long as the values are; doubles come back from the server
with all their digits (an integral one gets its ``.0``). A 4-byte ``FLOAT`` column is left to
the Core strategy: the driver reads it rounded to six digits, which no SQL reproduces.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BINARY,
    JSON,
    VARBINARY,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Time,
    Uuid,
    case,
    cast,
    func,
    null,
    select,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Select
from sqlalchemy.sql.visitors import InternalTraversal

from ....inspection import FieldInfo
from ....tree import RelationNode
from ...clauses import where_clauses, window_range
from ...secondary import correlated_from
from ..relations import collection_order_in, join_for
from .base import JsonDialect, Unsupported, enum_case, null_safe, plain_type, row_keys

if TYPE_CHECKING:
    from ..json import JsonBuilder

__all__ = ["ArrayAgg", "LongConcatSelect", "MysqlJson"]

# The largest group_concat_max_len each server takes (64-bit builds).
_MARIADB_MAX_CONCAT = 4294967295
_MYSQL_MAX_CONCAT = 18446744073709551615


class MysqlJson(JsonDialect):
    """MySQL 8 and MariaDB 10.5+: ``JSON_OBJECT`` and `ArrayAgg`, in a `LongConcatSelect`."""

    name = "mysql"
    max_keys = 60
    rewrite = True

    def object(self, pairs: list[Any]) -> Any:
        # MariaDB's subquery cache returns an empty string for an argument-less JSON_OBJECT() or
        # JSON_ARRAY() in a correlated subquery from its second row on (the document is then
        # invalid JSON); JSON_EXTRACT of the literal is the same value in MySQL and MariaDB.
        return func.json_object(*pairs) if pairs else func.json_extract("{}", "$")

    def array(self, items: list[Any]) -> Any:
        return func.json_array(*items) if items else func.json_extract("[]", "$")

    def statement(self, stmt: Select[Any]) -> Select[Any]:
        return LongConcatSelect._from(stmt)

    def collection(self, builder: JsonBuilder, rel: RelationNode, parent: Any) -> Any:
        if rel.options.windowed:
            return self._windowed(builder, rel, parent)
        child: Any = aliased(rel.child.model)
        from_, where = correlated_from(parent, child, rel)
        agg = ArrayAgg(builder.item(rel, child), collection_order_in(rel, child, from_))
        stmt = select(agg).select_from(from_)
        return stmt.where(where, *where_clauses(rel.options, child)).scalar_subquery()

    def _windowed(self, builder: JsonBuilder, rel: RelationNode, parent: Any) -> Any:
        """Every parent's rows numbered in one uncorrelated derived table, and this parent's
        window of them: the correlation stays outside the derived table."""
        owner: Any = aliased(rel.info.model)
        child: Any = aliased(rel.child.model)
        joined = join_for(owner, child, rel)
        pk = _primary_key(rel.info.model)
        owner_keys = [getattr(owner, k) for k in pk]
        keys = row_keys(rel.child) + [name for name, _ in rel.options.order_by]
        columns = [getattr(child, key) for key in dict.fromkeys(keys)]
        columns += [key.label(f"_treeshape_p{i}") for i, key in enumerate(owner_keys)]
        number = func.row_number().over(
            partition_by=owner_keys, order_by=collection_order_in(rel, child, joined)
        )
        inner = (
            select(*columns, number.label("_treeshape_rn"))
            .select_from(joined)
            .where(*where_clauses(rel.options, child))
            .subquery()
        )
        rows: Any = aliased(rel.child.model, inner)
        mine = [inner.c[f"_treeshape_p{i}"] == getattr(parent, k) for i, k in enumerate(pk)]
        agg = ArrayAgg(builder.item(rel, rows), [inner.c._treeshape_rn])
        stmt = select(agg).select_from(inner)
        return stmt.where(
            *mine, *window_range(rel.options, inner.c._treeshape_rn)
        ).scalar_subquery()

    def value(self, f: FieldInfo, expr: Any) -> Any:
        sa_type = plain_type(f)
        where = f"{f.model.__name__}.{f.name}"
        if isinstance(sa_type, Enum) and sa_type.enum_class is not None:
            return enum_case(expr, sa_type, f)
        if isinstance(sa_type, JSON):
            # MariaDB's JSON is text: JSON_EXTRACT makes it a JSON value, not a string.
            return func.json_extract(expr, "$")
        if isinstance(sa_type, Boolean):
            text = case((expr.is_(None), null()), (expr, "true"), else_="false")
            return func.json_extract(text, "$")
        if isinstance(sa_type, Uuid):
            if not sa_type.as_uuid:
                raise Unsupported(f"{where}: Uuid(as_uuid=False)")
            return null_safe(expr, _hyphenated(expr))
        if isinstance(sa_type, DateTime):
            if sa_type.timezone:
                raise Unsupported(f"{where}: time zone offsets convert in Python")
            stamp = func.date_format(expr, "%Y-%m-%dT%H:%i:%s.%f")
            return func.replace(stamp, ".000000", "")
        if isinstance(sa_type, Date):
            return func.date_format(expr, "%Y-%m-%d")
        if isinstance(sa_type, Time):
            # TIME spans -838:59:59 to 838:59:59; a datetime.time only a day.
            clock = func.time_format(expr, "%H:%i:%s.%f")
            return null_safe(expr, func.replace(clock, ".000000", ""))
        if isinstance(sa_type, Numeric | Float):
            if not sa_type.asdecimal:
                if not self._is_double(sa_type):
                    raise Unsupported(
                        f"{where}: a 4-byte FLOAT reads back rounded by the driver (declare "
                        "Double for an exact JSON form)"
                    )
                return _double(expr)
            if sa_type.scale is None or sa_type.scale > 6:
                # str(Decimal) turns values below 1e-6 into exponent notation; CAST does not.
                raise Unsupported(f"{where}: Numeric without a scale of at most 6")
            return null_safe(expr, cast(expr, String))
        if isinstance(sa_type, LargeBinary | BINARY | VARBINARY):
            # Bytes as lowercase hex, the one convention (`treeshape.values`).
            return null_safe(expr, func.lower(func.hex(expr)))
        if isinstance(sa_type, Integer | String):
            return expr
        raise Unsupported(f"{where}: {sa_type!r} has no exact JSON form in MySQL/MariaDB")

    def _is_double(self, sa_type: Any) -> bool:
        """Whether the column is 8 bytes on this server: DOUBLE, REAL or FLOAT(p > 24)."""
        compiled = self.dialect.type_compiler_instance.process(sa_type.dialect_impl(self.dialect))
        text = str(compiled).upper()
        if text.startswith(("DOUBLE", "REAL")):
            return True
        precision = getattr(sa_type, "precision", None)
        return text.startswith("FLOAT") and precision is not None and precision > 24


def _double(expr: Any) -> Any:
    """A double as a JSON number that reads back as a float: the server writes ``-2`` for -2.0
    (an integer to orjson), so an integral value gets its ``.0``."""
    digits = cast(expr, String)
    integral = (func.locate(".", digits) == 0) & (func.locate("e", digits) == 0)
    return func.json_extract(case((integral, func.concat(digits, ".0")), else_=digits), "$")


def _primary_key(model: Any) -> list[str]:
    mapper = sa_inspect(model)
    return [mapper.get_property_by_column(c).key for c in mapper.primary_key]


def _hyphenated(expr: Any) -> Any:
    """A Uuid as ``str(UUID)`` writes it: SQLAlchemy stores 32 hex digits in a CHAR(32), or
    uses MariaDB's own UUID type (10.7+), which reads as the hyphenated text already."""
    digits = cast(expr, String)
    parts = [
        func.substr(digits, start, length)
        for start, length in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
    ]
    return func.lower(
        case((func.char_length(digits) == 32, func.concat_ws("-", *parts)), else_=digits)
    )


class ArrayAgg(ColumnElement[Any]):
    """A JSON array of ``item`` over a group's rows, ordered by ``order``; ``[]`` for none.

    MariaDB: ``JSON_ARRAYAGG(item ORDER BY ...)``. MySQL 8, whose ``JSON_ARRAYAGG`` has no
    ORDER BY: ``GROUP_CONCAT(item ORDER BY ...)`` between brackets, read back as JSON.
    """

    __visit_name__ = "treeshape_mysql_array_agg"
    inherit_cache = True
    _traverse_internals = [
        ("item", InternalTraversal.dp_clauseelement),
        ("order", InternalTraversal.dp_clauseelement_list),
    ]

    def __init__(self, item: Any, order: list[Any]) -> None:
        self.item = item
        self.order = list(order)
        self.type = JSON()


@compiles(ArrayAgg)
def _array_agg(element: ArrayAgg, compiler: Any, **kw: Any) -> str:
    item = compiler.process(element.item, **kw)
    order = ", ".join(compiler.process(o, **kw) for o in element.order)
    if getattr(compiler.dialect, "is_mariadb", False):
        return f"coalesce(JSON_ARRAYAGG({item} ORDER BY {order}), JSON_ARRAY())"
    concat = f"GROUP_CONCAT({item} ORDER BY {order} SEPARATOR ',')"
    return f"JSON_EXTRACT(concat('[', coalesce({concat}, ''), ']'), '$')"


class LongConcatSelect(Select[Any]):
    """A SELECT that raises ``group_concat_max_len`` for itself only (see the module doc)."""

    inherit_cache = True

    @classmethod
    def _from(cls, stmt: Select[Any]) -> LongConcatSelect:
        new = cls.__new__(cls)
        new.__dict__.update(stmt.__dict__)
        return new


@compiles(LongConcatSelect)
def _long_concat_select(element: LongConcatSelect, compiler: Any, **kw: Any) -> str:
    text: str = compiler.visit_select(element, **kw)
    toplevel = not compiler.stack or len(compiler.stack) == 0
    if compiler.dialect.name not in ("mysql", "mariadb") or not toplevel:
        return text
    if getattr(compiler.dialect, "is_mariadb", False):
        return f"SET STATEMENT group_concat_max_len={_MARIADB_MAX_CONCAT} FOR {text}"
    hint = f"/*+ SET_VAR(group_concat_max_len={_MYSQL_MAX_CONCAT}) */"
    return text.replace("SELECT ", f"SELECT {hint} ", 1)
