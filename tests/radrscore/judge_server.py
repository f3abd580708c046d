"""A tiny OpenAI-compatible chat server for the LLM judge tests: real HTTP, canned replies.

The server answers ``POST /v1/chat/completions`` from a script: each entry is either a string (sent
as the assistant message content, as an LLM would: with code fences, prose, or broken JSON) or an
int (an HTTP status, sent with an error body). The script is chosen by what the prompt asks for,
so concurrent requests get the reply their prompt expects.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Checked in order: the recall and precision prompts also quote findings ("key_conclusion").
KINDS = {
    "recalled_findings": "recall",
    "correct_steps": "precision",
    "effective_steps": "efficiency",
    "key_conclusion": "findings",
}


def kind_of(prompt: str) -> str:
    for marker, kind in KINDS.items():
        if marker in prompt:
            return kind
    return "unknown"


class Script:
    """Replies per prompt kind, consumed in order; the last reply of a kind repeats."""

    def __init__(self, replies: dict[str, list[str | int]]) -> None:
        self._replies = {k: deque(v) for k, v in replies.items()}
        self.requests: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def next(self, kind: str) -> str | int:
        with self._lock:
            self.requests[kind] += 1
            queue = self._replies.get(kind) or deque([500])
            return queue.popleft() if len(queue) > 1 else queue[0]


@contextmanager
def judge_server(script: Script) -> Iterator[str]:
    """Serve ``script`` on a free local port; yields the base URL (``http://127.0.0.1:PORT/v1``)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            prompt = body["messages"][-1]["content"]
            reply = script.next(kind_of(prompt))
            if isinstance(reply, int):
                payload, status = {"error": {"message": "boom"}}, reply
            else:
                payload = {"choices": [{"index": 0, "message": {"role": "assistant", "content": reply}}]}
                status = 200
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
