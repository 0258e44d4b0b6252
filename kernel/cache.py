"""One in-memory cache for built responses (vector and raster tiles): least recently used
entries go first, bounded in bytes, safe across threads."""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Hashable

ENTRY_OVERHEAD = 200          # bytes counted per entry beyond its body (key, headers)


class BytesCache:
    """Responses (status, headers, body) by key, at most `capacity` bytes in all and
    `largest` bytes each; capacity 0 keeps nothing."""

    def __init__(self, capacity: int, largest: int = 1 << 20):
        """An empty cache."""
        self.capacity, self.largest = capacity, largest
        self.size = 0
        self._entries: OrderedDict[Hashable, tuple[int, list, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Number of entries kept."""
        return len(self._entries)

    def get(self, key: Hashable) -> tuple[int, list, bytes] | None:
        """(status, headers, body) of a kept response, or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: Hashable, status: int, headers: list, body: bytes) -> None:
        """Keep a response, evicting the least recently used ones beyond capacity."""
        if len(body) > min(self.largest, self.capacity):
            return
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = (status, list(headers), body)
            self.size += len(body) + ENTRY_OVERHEAD
            while self.size > self.capacity and self._entries:
                _, (_, _, old) = self._entries.popitem(last=False)
                self.size -= len(old) + ENTRY_OVERHEAD
