"""Disjoint sets (union-find) over string keys: how tunes, titles and pieces are glued into groups."""

from __future__ import annotations


class DisjointSets:
    """Union-find whose representative is always the smallest key, so grouping is order-independent."""

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        """The representative of x's group (x joins as its own group on first sight)."""
        while self._parent.setdefault(x, x) != x:
            self._parent[x] = self._parent[self._parent[x]]  # path halving keeps chains short
            x = self._parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        """Put a and b in one group."""
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self._parent[max(ra, rb)] = min(ra, rb)
