"""The rendering thread pool: one render's per-pixel step split across a few threads.

Contract: :func:`in_parts` runs ``work(start, stop)`` over ``[0, total)`` cut into ``parts``
ranges, the caller's thread taking the first, and returns when all are done. numpy releases the
GIL in its loops (``np.take``, ufuncs), so the ranges really run at once: on RG1 a full-size
lookup takes ~0.6x the wall time on a loaded 2-core machine. Callers split frames of at least
:data:`PARALLEL_PIXELS` into :data:`THREADS` parts. The pool is created on first use and rebuilt
in a forked child: an inherited pool has no threads, and submitting to it would wait forever.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

THREADS = max(1, min(4, os.cpu_count() or 1))
# Frames smaller than this are not worth a hand-off to other threads.
PARALLEL_PIXELS = 1 << 20

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def parts_for(pixels: int) -> int:
    """How many parts a frame of ``pixels`` is split into."""
    return THREADS if pixels >= PARALLEL_PIXELS else 1


def in_parts(work: Callable[[int, int], None], total: int, *, parts: int) -> None:
    """``work(start, stop)`` for ``parts`` consecutive ranges covering ``[0, total)``."""
    parts = max(1, min(parts, total))
    bounds = [total * k // parts for k in range(parts + 1)]
    futures = [_pool().submit(work, bounds[k], bounds[k + 1]) for k in range(1, parts)]
    work(bounds[0], bounds[1])
    for future in futures:
        future.result()


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="chestx-render")
        return _executor


def _forget_pool_after_fork() -> None:
    global _executor, _executor_lock
    _executor, _executor_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool_after_fork)
