"""Remembered results of pure functions on the codecs' hot paths (Huffman strings, test
frames): a fuzz input shares most of its parts with its parent, coded a moment before."""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Memo(dict[K, V]):
    """A dict that empties itself when full: cheaper than keeping LRU order, and a fuzz
    run's working set refills it at once."""

    def __init__(self, limit: int = 4096) -> None:
        super().__init__()
        self.limit = limit

    def keep(self, key: K, value: V) -> V:
        """Remember ``value`` for ``key``; returns it."""
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value
