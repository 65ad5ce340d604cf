"""treeshape: one include spec per endpoint, and everything derived from it.

import treeshape as ts

route_detail = ts.shape(Route, "trips.stop_times.stop")
stmt = select(Route).options(*route_detail.loader_options())
route_detail.dump(session.scalars(stmt).one())
"""

from .errors import InputError, NotLoadedError, SpecError, TreeshapeError
from .inspection import PRIVATE_INFO_KEY
from .shape import Shape, shape
from .spec.computed import Computed, computed
from .spec.options import include
from .sql.fetch import FetchError
from .tree import RelationOptions

__version__ = "0.1.0"

__all__ = [
    "PRIVATE_INFO_KEY",
    "Computed",
    "FetchError",
    "InputError",
    "NotLoadedError",
    "RelationOptions",
    "Shape",
    "SpecError",
    "TreeshapeError",
    "__version__",
    "computed",
    "include",
    "shape",
]
