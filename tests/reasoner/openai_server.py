"""A small OpenAI-compatible chat-completions server for the tests, over real HTTP.

``mode``: "model" serves the tiny transformers model (streamed, chunked SSE); "error500"
answers 500 to the first ``fail_first`` requests (all when None) and then serves the model;
"hang" sleeps before answering; "drop" streams a few chunks of the model's text, then closes
the socket mid-body.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

from reasoner.backends.base import GenerationParams
from reasoner.prompts import ChatPrompt


def _to_chat(messages: list[dict]) -> ChatPrompt:
    images, out = [], []
    for m in messages:
        parts = []
        for p in m["content"] if isinstance(m["content"], list) else [{"type": "text", "text": m["content"]}]:
            if p["type"] == "image_url":
                data = p["image_url"]["url"].split(",", 1)[1]
                images.append(Image.open(io.BytesIO(base64.b64decode(data))))
                parts.append({"type": "image"})
            else:
                parts.append(p)
        out.append({"role": m["role"], "content": parts})
    return ChatPrompt(out, images)


class ChatServer:
    def __init__(self, backend, mode: str = "model", *, fail_first: int | None = None, hang_s: float = 5.0):
        self.backend, self.mode, self.fail_first, self.hang_s = backend, mode, fail_first, hang_s
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests += 1
                try:
                    server.handle(self, body)
                except (BrokenPipeError, ConnectionResetError):  # the client went away: fine here
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def handle(self, h: BaseHTTPRequestHandler, body: dict) -> None:
        if self.mode == "error500" and (self.fail_first is None or self.requests <= self.fail_first):
            data = b'{"error": "boom"}'
            h.send_response(500)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
            return
        if self.mode == "hang":
            time.sleep(self.hang_s)
            return
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        params = GenerationParams(
            max_new_tokens=body["max_tokens"], temperature=body["temperature"], seed=body.get("seed")
        )
        generation = self.backend.generate_text(_to_chat(body["messages"]), params)
        for i, (text, _) in enumerate(itertools.chain.from_iterable(generation)):
            if self.mode == "drop" and i == 12:
                h.wfile.flush()
                h.connection.shutdown(2)  # mid-body: no terminating chunk
                h.close_connection = True
                return
            self._event(h, {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]})
        finish = "length" if generation.finish_reason == "length" else "stop"
        self._event(h, {"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        self._chunk(h, b"data: [DONE]\n\n")
        self._chunk(h, b"")

    def _event(self, h, obj: dict) -> None:
        self._chunk(h, f"data: {json.dumps(obj)}\n\n".encode())

    @staticmethod
    def _chunk(h, data: bytes) -> None:
        h.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        h.wfile.flush()
