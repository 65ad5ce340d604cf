"""The spec layer: what a user writes, parsed, checked and bound to the mapped classes.

`parse` reads dotted paths, mappings and composed shapes into an include tree; `options`
holds `include()` and the per-relationship options; `bind` resolves the tree against the
mappers into the interned `treeshape.tree.ShapeNode`; `narrow` derives a sub-shape.
"""

from .parse import MAX_DEPTH

__all__ = ["MAX_DEPTH"]
