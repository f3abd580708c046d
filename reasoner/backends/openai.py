"""An OpenAI-compatible chat-completions backend (vLLM, SGLang...) over HTTP with httpx.

Contract: see :mod:`reasoner.backends.base`. Images go as PNG data URLs in ``image_url`` parts;
the answer streams as server-sent events (``stream: true``). Connection failures, timeouts and
HTTP 5xx before the first streamed text are retried with exponential backoff; HTTP 4xx is not.
A failure after text has arrived is not retried (the caller has already shown it): the stream
yields ``Error`` (kind "dropped", "timeout"...) and a ``Finished`` flagged "incomplete".
:class:`ChatClient` is the reusable part (the report miner's LLM mode uses it too).
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from reasoner.backends.base import BackendInfo, GenerationParams, ReasonRequest
from reasoner.errors import BackendError
from reasoner.events import Error, Event, EventMapper, FinishReason
from reasoner.prompts import ChatPrompt


@dataclass(frozen=True, slots=True)
class HTTPSettings:
    """Timeouts in seconds (``read``: the longest silence between two bytes) and retries."""

    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    retries: int = 3  # extra attempts after the first
    backoff: float = 0.5  # seconds before the first retry, doubling each time


def image_data_url(image: Any) -> str:
    """A PNG data URL for a PIL image."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def openai_messages(chat: ChatPrompt) -> list[dict[str, Any]]:
    """Chat messages in OpenAI's format: image parts become ``image_url`` data URLs."""
    images = iter(chat.images)
    out = []
    for message in chat.messages:
        parts = []
        for part in message["content"]:
            if part.get("type") == "image":
                parts.append({"type": "image_url", "image_url": {"url": image_data_url(next(images))}})
            else:
                parts.append(part)
        out.append({"role": message["role"], "content": parts})
    return out


class ChatClient:
    """Streaming and plain chat completions against one OpenAI-compatible endpoint."""

    def __init__(
        self, base_url: str, *, model: str, api_key: str | None = None, http: HTTPSettings | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.http = http or HTTPSettings()
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        timeout = httpx.Timeout(self.http.read_timeout, connect=self.http.connect_timeout)
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)
        self.attempts = 0  # requests sent, retries included (for tests and logs)

    def close(self) -> None:
        self._client.close()

    def payload(self, messages: list[dict[str, Any]], params: GenerationParams, *, stream: bool) -> dict:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "stream": stream,
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
        }
        if params.seed is not None:
            body["seed"] = params.seed
        if params.repetition_penalty != 1.0:
            body["repetition_penalty"] = params.repetition_penalty  # a vLLM/SGLang extension
        return body

    def stream_chat(
        self,
        messages: list[dict[str, Any]],
        params: GenerationParams,
        *,
        cancel: threading.Event | None = None,
    ) -> Iterator[tuple[str, str | None]]:
        """Yield ``(text_delta, finish_reason_or_None)``; raise BackendError on failure."""
        body = self.payload(messages, params, stream=True)
        for attempt in range(self.http.retries + 1):
            received = False
            try:
                for item in self._one_stream(body, cancel):
                    received = True
                    yield item
                return
            except BackendError as exc:
                if received or not self._retryable(exc) or attempt == self.http.retries:
                    raise
            time.sleep(self.http.backoff * 2**attempt)

    def complete(self, messages: list[dict[str, Any]], params: GenerationParams) -> str:
        """The whole answer text of a (streamed) chat completion."""
        return "".join(text for text, _ in self.stream_chat(messages, params))

    @staticmethod
    def _retryable(exc: BackendError) -> bool:
        return exc.kind in ("connect", "timeout") or (exc.kind == "http" and getattr(exc, "status", 0) >= 500)

    def _one_stream(self, body: dict, cancel: threading.Event | None) -> Iterator[tuple[str, str | None]]:
        self.attempts += 1
        done = False
        try:
            with self._client.stream("POST", "/chat/completions", json=body) as response:
                if response.status_code >= 400:
                    detail = response.read().decode("utf-8", "replace")[:300]
                    err = BackendError(f"HTTP {response.status_code} from {self.base_url}: {detail}", "http")
                    err.status = response.status_code
                    raise err
                for line in response.iter_lines():
                    if cancel is not None and cancel.is_set():
                        return
                    data = _sse_data(line)
                    if data is None:
                        continue
                    if data == "[DONE]":
                        done = True
                        return
                    yield _chunk(data, self.base_url)
        except httpx.TimeoutException as exc:
            raise BackendError(
                f"timed out talking to {self.base_url} ({type(exc).__name__})", "timeout"
            ) from exc
        except httpx.ConnectError as exc:
            raise BackendError(f"cannot connect to {self.base_url}: {exc}", "connect") from exc
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise BackendError(
                f"the connection to {self.base_url} dropped mid-stream: {exc}", "dropped"
            ) from exc
        if not done and not (cancel is not None and cancel.is_set()):
            raise BackendError(f"the stream from {self.base_url} ended without [DONE]", "dropped")


def _sse_data(line: str) -> str | None:
    if not line.startswith("data:"):
        return None  # comments, "event:" lines, keep-alives
    return line[5:].strip()


def _chunk(data: str, where: str) -> tuple[str, str | None]:
    try:
        obj = json.loads(data)
    except json.JSONDecodeError as exc:
        raise BackendError(f"unreadable event from {where}: {data[:200]}", "http") from exc
    if "error" in obj:
        raise BackendError(f"the server reported an error: {obj['error']}", "http")
    choice = (obj.get("choices") or [{}])[0]
    delta = choice.get("delta") or {}
    return delta.get("content") or "", choice.get("finish_reason")


class OpenAIBackend:
    """Reasoning through an OpenAI-compatible server (see the module docstring)."""

    name = "openai"

    def __init__(
        self, base_url: str, *, model: str, api_key: str | None = None, http: HTTPSettings | None = None
    ) -> None:
        self.client = ChatClient(base_url, model=model, api_key=api_key, http=http)

    def describe(self) -> BackendInfo:
        return BackendInfo(self.name, self.client.model, {"endpoint": self.client.base_url})

    def stream(self, request: ReasonRequest, *, cancel: threading.Event | None = None) -> Iterator[Event]:
        mapper = EventMapper(options=request.task.options or None)
        record = {"backend": self.name, "model": self.client.model, "endpoint": self.client.base_url}
        record |= request.params.as_dict()
        try:
            messages = openai_messages(request.chat())
        except (ValueError, OSError, AttributeError, TypeError) as exc:  # AttributeError: not an image
            yield Error(f"cannot send the input: {exc}", "input")
            yield from mapper.finish("error", params=record)
            return
        reason: FinishReason = "stop"
        attempts_before = self.client.attempts
        try:
            for text, finish in self.client.stream_chat(messages, request.params, cancel=cancel):
                yield from mapper.feed(text)
                if finish == "length":
                    reason = "length"
        except BackendError as exc:
            yield Error(str(exc), exc.kind)
            reason = "error"
        if reason != "error" and cancel is not None and cancel.is_set():
            reason = "cancelled"
        record["attempts"] = self.client.attempts - attempts_before
        yield from mapper.finish(reason, params=record)
