"""Run pyHanko's coroutines from synchronous code, whether or not an event loop is running."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def run_sync(make: Callable[[], Awaitable[T]]) -> T:
    """``asyncio.run`` when this thread has no running loop; otherwise in a short-lived thread.

    pyHanko's synchronous wrappers call ``asyncio.run`` and fail inside a running loop (an async
    web worker, or Playwright's sync API in tests), so we call its async API ourselves.
    """
    async def main() -> T:
        return await make()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="signing") as pool:
        return pool.submit(asyncio.run, main()).result()
