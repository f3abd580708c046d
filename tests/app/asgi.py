"""Running an ASGI request from a synchronous test, whatever the thread already runs.

Playwright's sync API keeps an event loop running in the test thread once a browser test has
started, so ``asyncio.run`` there raises; a short-lived thread has a loop of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)`` in a fresh thread; returns its result or raises its exception."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
