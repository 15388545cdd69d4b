"""Rendered signing pages, kept per process for a short time, bounded in entries and in bytes.

A page is the same for everyone holding the link as long as the mandate has not changed, so it is
keyed by (link token, mandate version, language, embedding); the time limit bounds how long a
change to the merchant's branding takes to show. Only canonical, validated values enter a key:
an unlisted origin or an unsafe return URL is no embedding at all, so arbitrary query values can
neither multiply the entries nor grow them (and the page repeats none of them in its links)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable

from flask import Flask

#: What a cached page holds: the body, and the frame-ancestors it was rendered with.
Page = tuple[bytes, str | None]


def page_key(token: str, mandate_version: int, locale: str,
             embedding: tuple[tuple[str, str], ...] | None, *,
             refund_verification: bool = False) -> Hashable:
    """The key of one page: ``embedding`` is the validated embedding's query, or None;
    ``refund_verification`` is the merchant's setting the page announces."""
    return (token, mandate_version, locale, embedding, refund_verification)


def pages_of(app: Flask) -> PageCache:
    """The app's cache of rendered signing pages (one per process)."""
    pages = app.extensions.get("sign_pages")
    if pages is None:
        pages = app.extensions["sign_pages"] = PageCache()
    return pages


class PageCache:
    def __init__(self, max_entries: int = 2048, max_bytes: int = 32 * 1024 * 1024,
                 ttl_seconds: float = 60.0) -> None:
        self.max_entries, self.max_bytes, self.ttl = max_entries, max_bytes, ttl_seconds
        self._pages: OrderedDict[Hashable, tuple[float, Page]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._pages)

    def get(self, key: Hashable) -> Page | None:
        with self._lock:
            entry = self._pages.get(key)
            if entry is None:
                return None
            stored_at, page = entry
            if time.monotonic() - stored_at > self.ttl:
                self._drop(key)
                return None
            self._pages.move_to_end(key)
            return page

    def put(self, key: Hashable, page: Page) -> None:
        """Keep ``page``, evicting the least recently used beyond either bound; a page larger
        than an eighth of the byte budget is not kept at all."""
        size = len(page[0])
        if size > self.max_bytes // 8:
            return
        with self._lock:
            if key in self._pages:
                self._drop(key)
            self._pages[key] = (time.monotonic(), page)
            self._bytes += size
            while len(self._pages) > self.max_entries or self._bytes > self.max_bytes:
                self._drop(next(iter(self._pages)))

    def _drop(self, key: Hashable) -> None:
        _, (body, _) = self._pages.pop(key)
        self._bytes -= len(body)
