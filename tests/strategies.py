"""Hypothesis strategies shared by the property tests: random networks and random specs.

``networks`` draws the size and seed of a network of the test models (`NetworkSpec`, built by
`tests.factories.build_network`); ``specs()`` draws a root model, an include tree below it and
field subsets of the models in that tree. Their ranges are the union of what the property tests
(`tests.core.test_properties`, `tests.test_dumper`, `tests.test_fetch`,
`tests.options.test_relation_options`) drew each on its own, so none draws from a narrower space.
"""

from __future__ import annotations

from typing import NamedTuple

from hypothesis import strategies as st
from sqlalchemy import inspect

from tests.core.reference import Tree
from tests.factories import NetworkSpec
from tests.models import Call, Journey, Line, Operator, Place

NETWORK_MODELS: tuple[type, ...] = (Operator, Line, Journey, Call, Place)
"""The models `build_network` fills."""

COLUMNS: dict[str, list[str]] = {
    model.__name__: [p.key for p in inspect(model).column_attrs if not p.key.startswith("_")]
    for model in NETWORK_MODELS
}
"""Every column of each network model, in mapper order: what a shape outputs by default (not
the hidden ``_treeshape_count_*`` attributes that shapes with counts add to the mappers)."""

networks = st.builds(
    NetworkSpec,
    operators=st.integers(0, 3),
    lines=st.integers(0, 4),
    journeys_per_line=st.integers(0, 5),
    calls_per_journey=st.integers(0, 5),
    places=st.integers(0, 6),
    seed=st.integers(0, 50),
)
"""Networks from empty to 4 lines x 5 journeys x 5 calls; nulls and ties vary with the seed."""


@st.composite
def include_trees(draw: st.DrawFn, model: type, max_depth: int = 4) -> Tree:
    """A random include mapping below ``model``: any of its relationships (self-references
    included), in a random order, down to ``max_depth`` levels."""
    if max_depth <= 0:
        return {}
    relationships = inspect(model).relationships
    chosen = draw(st.lists(st.sampled_from(sorted(relationships.keys())), unique=True))
    return {
        name: draw(include_trees(relationships[name].mapper.class_, max_depth - 1))
        for name in chosen
    }


def models_in(model: type, tree: Tree) -> set[type]:
    """``model`` and every model the include tree reaches."""
    found = {model}
    for name, sub in tree.items():
        found |= models_in(inspect(model).relationships[name].mapper.class_, sub)
    return found


def tree_paths(tree: Tree, prefix: str = "") -> list[str]:
    """Every dotted path of the tree, parents first."""
    paths: list[str] = []
    for name, sub in tree.items():
        path = f"{prefix}.{name}" if prefix else name
        paths.append(path)
        paths.extend(tree_paths(sub, path))
    return paths


class Spec(NamedTuple):
    """A random spec: the root model, its include tree and ``fields`` by model name."""

    root: type
    tree: Tree
    fields: dict[str, list[str]]

    @property
    def paths(self) -> list[str]:
        """The tree as the dotted paths of its leaves (``ts.shape(root, *paths)``)."""
        paths = tree_paths(self.tree)
        return [p for p in paths if not any(q.startswith(p + ".") for q in paths)]


@st.composite
def specs(draw: st.DrawFn, max_depth: int = 4) -> Spec:
    """Any network model as the root, an include tree below it (`include_trees`) and, for some
    of the models in the tree, a subset of their columns in a random order (possibly none)."""
    root = draw(st.sampled_from(NETWORK_MODELS))
    tree = draw(include_trees(root, max_depth))
    fields: dict[str, list[str]] = {}
    for model in sorted(models_in(root, tree), key=lambda m: m.__name__):
        if draw(st.booleans()):
            columns = COLUMNS[model.__name__]
            fields[model.__name__] = draw(st.lists(st.sampled_from(columns), unique=True))
    return Spec(root, tree, fields)
