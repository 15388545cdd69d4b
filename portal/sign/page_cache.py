"""Rendered signing pages, kept per process for a short time.

A page is the same for everyone holding the link as long as the mandate has not changed, so it is
keyed by (link token, mandate version, language); the time limit bounds how long a change to the
merchant's branding takes to show."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any


class PageCache:
    def __init__(self, max_entries: int = 2048, ttl_seconds: float = 60.0) -> None:
        self.max_entries, self.ttl = max_entries, ttl_seconds
        self._pages: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            entry = self._pages.get(key)
            if entry is None:
                return None
            stored_at, body = entry
            if time.monotonic() - stored_at > self.ttl:
                del self._pages[key]
                return None
            self._pages.move_to_end(key)
            return body

    def put(self, key: Hashable, body: Any) -> None:
        with self._lock:
            self._pages[key] = (time.monotonic(), body)
            self._pages.move_to_end(key)
            while len(self._pages) > self.max_entries:
                self._pages.popitem(last=False)
