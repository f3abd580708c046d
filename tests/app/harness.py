"""What the browser suite watches on its live server: every event listener, and the server's log.

:class:`Listeners` lists every event listener of every Gradio Blocks mounted in the app (each
``BlockFunction``: a click, a change, a load, a timer tick...) and wraps its function so that the
first call is recorded; ``tests/app/test_gates.py`` fails unless the browser suite fired each one.

:class:`ServerLog` is the log of the in-process server: log records at WARNING and above with
their tracebacks, tracebacks Gradio prints for a failed event (``traceback.print_exception`` from
a server thread), and exceptions that end a thread, when they come from the app's code or its web
stack (not from test peers in the same process, such as the fake model servers). It is written to
test-artifacts/ and must hold no traceback at the end of the browser suite.
"""

from __future__ import annotations

import functools
import inspect
import io
import logging
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Listeners:
    described: dict[str, str] = field(default_factory=dict)  # key -> what fires it
    fired: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def missing(self) -> list[str]:
        with self._lock:
            return sorted(f"{key}: {self.described[key]}" for key in self.described if key not in self.fired)

    def _record(self, key: str) -> None:
        if key not in self.fired:
            with self._lock:
                self.fired.add(key)

    def wrap(self, key: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` recording its calls, of the same kind (Gradio inspects it: generator, coroutine)."""
        record = self._record
        if inspect.isasyncgenfunction(fn):

            @functools.wraps(fn)
            async def agen(*args: Any, **kwargs: Any) -> Any:
                record(key)
                async for item in fn(*args, **kwargs):
                    yield item

            return agen
        if inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            def gen(*args: Any, **kwargs: Any) -> Any:
                record(key)
                return (yield from fn(*args, **kwargs))

            return gen
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def coro(*args: Any, **kwargs: Any) -> Any:
                record(key)
                return await fn(*args, **kwargs)

            return coro

        @functools.wraps(fn)
        def plain(*args: Any, **kwargs: Any) -> Any:
            record(key)
            return fn(*args, **kwargs)

        return plain


def _component_name(blocks: Any, block_id: int) -> str:
    block = blocks.blocks.get(block_id) if block_id is not None else None
    if block is None:
        return "page"
    name = getattr(block, "elem_id", None) or getattr(block, "label", None) or getattr(block, "value", None)
    return f"{type(block).__name__}({name!r})" if name else type(block).__name__


def instrument(app: Any) -> Listeners:
    """Wrap every server-side event listener of every Gradio page mounted in ``app``."""
    listeners = Listeners()
    for route in app.routes:
        blocks = getattr(getattr(route, "app", None), "blocks", None)
        if blocks is None:
            continue
        for fn_id, block_fn in blocks.fns.items():
            if block_fn.fn is None:  # a browser-only (js) listener: nothing runs on the server
                continue
            triggers = ", ".join(f"{_component_name(blocks, bid)}.{event}" for bid, event in block_fn.targets)
            key = f"{route.path}#{fn_id}"
            listeners.described[key] = f"{block_fn.name} on {triggers}"
            block_fn.fn = listeners.wrap(key, block_fn.fn)
    return listeners


@dataclass
class ServerLog:
    """Everything the live server logs or prints as an error (see the module docstring)."""

    entries: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, text: str) -> None:
        with self._lock:
            self.entries.append(text)

    def text(self) -> str:
        with self._lock:
            return "\n".join(self.entries)

    def tracebacks(self) -> list[str]:
        with self._lock:
            return [e for e in self.entries if "Traceback" in e]


_ROOT = Path(__file__).resolve().parents[2]
_SERVER_LIBS = ("gradio", "gradio_client", "uvicorn", "starlette", "fastapi", "anyio", "httpx", "sqlalchemy")
_PROJECT = ("app.py", "chestx", "reasoner", "review_db", "training", "migrations")


def _the_apps(path: str) -> bool:
    """Whether code at ``path`` is the app server's: the project's or its web stack's (test peers
    such as tests' fake model servers, built on the standard library's http.server, are not)."""
    p = Path(path)
    if "site-packages" in p.parts:
        return p.parts[p.parts.index("site-packages") + 1] in _SERVER_LIBS
    try:
        rel = p.resolve().relative_to(_ROOT)
    except ValueError:
        return False
    return rel.parts[0] in _PROJECT


def _from_the_app(tb: Any) -> bool:
    return any(_the_apps(frame.filename) for frame in traceback.extract_tb(tb))


class _Handler(logging.Handler):
    def __init__(self, log: ServerLog) -> None:
        super().__init__(logging.WARNING)
        self.log = log
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if threading.current_thread() is not threading.main_thread() and _the_apps(record.pathname):
            self.log.add(self.format(record))


def capture(log: ServerLog) -> Callable[[], None]:
    """Start capturing the server's errors into ``log``; returns the function that stops it."""
    handler = _Handler(log)
    logging.getLogger().addHandler(handler)
    original_print, original_hook = traceback.print_exception, threading.excepthook

    def print_exception(*args: Any, **kwargs: Any) -> None:
        exc = args[0] if args else kwargs.get("exc")
        tb = args[2] if len(args) > 2 else getattr(exc, "__traceback__", None)
        if threading.current_thread() is not threading.main_thread() and _from_the_app(tb):
            out = io.StringIO()
            original_print(*args, **{**kwargs, "file": out})
            log.add(out.getvalue())
        original_print(*args, **kwargs)

    def excepthook(info: threading.ExceptHookArgs) -> None:
        if _from_the_app(info.exc_traceback):
            log.add("".join(traceback.format_exception(info.exc_type, info.exc_value, info.exc_traceback)))
        original_hook(info)

    traceback.print_exception = print_exception
    threading.excepthook = excepthook

    def stop() -> None:
        logging.getLogger().removeHandler(handler)
        traceback.print_exception, threading.excepthook = original_print, original_hook

    return stop
