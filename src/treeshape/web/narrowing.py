"""`Narrowing`: a request's parsed ``include``/``fields``/``page``/``sort``, as one value.

Its own module because both sides meet on it: the parser (`treeshape.web.parameters`) produces
it without knowing the tree, the endpoint (`treeshape.web.endpoint`) validates it against the
tree and caches narrowed shapes on it, so it must be hashable and canonical (sorted).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Narrowing"]


@dataclass(frozen=True)
class Narrowing:
    """A request's parsed narrowing: hashable, so narrowed shapes can be cached on it."""

    include: tuple[str, ...] | None = None
    """Dotted paths; ``None`` when ``include`` was absent (keep every declared path)."""
    fields: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """``(model name, field names)`` pairs, sorted by model name."""
    page: tuple[tuple[str, int | None, int | None], ...] = ()
    """``(path, limit, offset)`` per paged collection (``None``: not given), sorted by path."""
    sort: tuple[tuple[str, tuple[tuple[str, bool], ...]], ...] = ()
    """``(path, ((field, descending), ...))`` per sorted collection, sorted by path."""
