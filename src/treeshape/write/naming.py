"""Names of input classes: ``TripCreate``, ``StopTimeReplace``, unique in the process.

The first input class to claim a name keeps it; another tree, parent or mode that would get the
same name gets a suffix derived from its description, stable across runs (as the output classes'
names in `treeshape.naming`).
"""

from __future__ import annotations

import hashlib
import threading
import weakref

__all__ = ["Claim", "claim_input_name"]


class Claim:
    """A claimed name and what claimed it; kept alive by the classes' memo entry."""

    __slots__ = ("__weakref__", "name", "signature")

    def __init__(self, name: str, signature: str) -> None:
        self.name = name
        self.signature = signature


_claimed: weakref.WeakValueDictionary[str, Claim] = weakref.WeakValueDictionary()
_lock = threading.Lock()


def claim_input_name(base: str, signature: str) -> Claim:
    """A unique name starting with ``base`` for the input classes described by ``signature``."""
    with _lock:
        holder = _claimed.get(base)
        if holder is None or holder.signature == signature:
            claim = holder or Claim(base, signature)
            _claimed[base] = claim
            return claim
        digest = hashlib.sha1(signature.encode()).hexdigest()[:6]
        candidate = f"{base}_{digest}"
        count = 1
        while (holder := _claimed.get(candidate)) is not None and holder.signature != signature:
            count += 1
            candidate = f"{base}_{digest}_{count}"
        claim = holder or Claim(candidate, signature)
        _claimed[candidate] = claim
        return claim
