"""PostgreSQL's JSON strategy: ``json_build_object`` / ``json_agg(... ORDER BY ...)``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    Integer,
    Numeric,
    String,
    Text,
    Time,
    Uuid,
    case,
    cast,
    func,
    literal_column,
    null,
    select,
)
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION, aggregate_order_by
from sqlalchemy.orm import aliased

from ....inspection import FieldInfo
from ....tree import RelationNode
from ...clauses import where_clauses
from ...secondary import correlated_from
from ..relations import collection_order_in
from .base import JsonDialect, Unsupported, enum_case, ordered_rows, plain_type

if TYPE_CHECKING:
    from ..json import JsonBuilder

__all__ = ["PostgresJson"]


class PostgresJson(JsonDialect):
    """PostgreSQL: ``json_build_object`` / ``json_agg(... ORDER BY ...)``.

    PostgreSQL's JSON already gives ISO dates, true/false, hyphenated UUIDs and shortest-repr
    doubles; it trims trailing zeros of fractional seconds (Python prints six digits) and prints
    numerics as numbers, which are rewritten here.
    """

    name = "postgresql"
    max_keys = 50  # json_build_object takes at most 100 arguments

    def object(self, pairs: list[Any]) -> Any:
        return func.json_build_object(*pairs)

    def root(self, doc: Any) -> Any:
        return cast(doc, Text)

    def array(self, items: list[Any]) -> Any:
        return func.json_build_array(*items)

    def collection(self, builder: JsonBuilder, rel: RelationNode, parent: Any) -> Any:
        empty: Any = literal_column("'[]'::json")
        if rel.options.windowed:
            inner, rows = ordered_rows(rel, parent, numbered=True)
            doc = builder.item(rel, rows)
            agg = func.json_agg(aggregate_order_by(doc, inner.c._treeshape_rn))
            return select(func.coalesce(agg, empty)).select_from(inner).scalar_subquery()
        child: Any = aliased(rel.child.model)
        from_, where = correlated_from(parent, child, rel)
        doc = builder.item(rel, child)
        agg = func.json_agg(aggregate_order_by(doc, *collection_order_in(rel, child, from_)))
        stmt = select(func.coalesce(agg, empty)).select_from(from_)
        return stmt.where(where, *where_clauses(rel.options, child)).scalar_subquery()

    def value(self, f: FieldInfo, expr: Any) -> Any:
        sa_type = plain_type(f)
        where = f"{f.model.__name__}.{f.name}"
        if isinstance(sa_type, Enum) and sa_type.enum_class is not None:
            return enum_case(expr, sa_type, f)
        if isinstance(sa_type, JSON | Boolean | Integer | Date):
            return expr
        if isinstance(sa_type, Uuid):
            if not (sa_type.as_uuid and sa_type.native_uuid):
                raise Unsupported(f"{where}: a non-native Uuid")
            return expr
        if isinstance(sa_type, DateTime | Time):
            if sa_type.timezone:
                raise Unsupported(f"{where}: time zone offsets convert in Python")
            pattern = "HH24:MI:SS.US" if isinstance(sa_type, Time) else 'YYYY-MM-DD"T"HH24:MI:SS.US'
            return func.replace(func.to_char(expr, pattern), ".000000", "")
        if isinstance(sa_type, Numeric | Float):
            if not sa_type.asdecimal:
                double = cast(expr, DOUBLE_PRECISION)
                # JSON has no NaN or infinities: dump_json writes null (Pydantic's JSON mode),
                # PostgreSQL's JSON would write the strings "NaN" and "Infinity".
                special: list[Any] = [
                    literal_column(f"'{v}'::float8") for v in ("NaN", "Infinity", "-Infinity")
                ]
                return case((double.in_(special), null()), else_=double)
            if sa_type.scale is None or sa_type.scale > 6:
                # str(Decimal) turns values below 1e-6 into exponent notation; text does not.
                raise Unsupported(f"{where}: Numeric without a scale of at most 6")
            return cast(expr, Text)
        if isinstance(sa_type, String):
            return expr
        raise Unsupported(f"{where}: {sa_type!r} has no exact JSON form in PostgreSQL")
