"""A simulated reviewer that speaks to the review page exactly as the browser does.

The browser's Gradio client posts each event (the function's index, the trigger component, the
inputs with ``null`` for server-side state, and for the chain's actions the event data with a
client-made ``request_id``) either to ``/review/gradio_api/queue/join`` and then reads the answer
from the server-sent events of ``/review/gradio_api/queue/data`` (queued events: next case,
submit), or, for events the page marks ``queue=False`` (the chain's verdicts), to
``/review/gradio_api/run/predict`` and gets the answer in the response. This client does the
same with httpx, after logging in through ``/login`` like a person, so the benchmark measures
the path a radiologist's click takes: login wall, queue, handler, database, HTML render.
"""

from __future__ import annotations

import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

STEP = re.compile(r'data-step-id="(\d+)"[^>]*data-kind="model"')
CASE = re.compile(r'data-case-id="(\d+)"')


@dataclass
class Endpoints:
    """Function indexes and trigger ids of the review page's events (read from its config)."""

    next_fn: int
    next_trigger: int
    chain_fn: int
    chain_trigger: int
    submit_fn: int
    submit_trigger: int
    load_fn: int = 0
    load_trigger: int = 0
    unqueued: frozenset[int] = frozenset()  # functions the browser calls with one POST

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Endpoints:
        ids = {c.get("props", {}).get("elem_id"): c["id"] for c in config["components"]}
        found, load = {}, None
        for dep in config["dependencies"]:
            for target, event in dep["targets"]:
                found[(target, event)] = dep["id"]
                if event == "load" and load is None:
                    load = (dep["id"], target)
        return cls(
            next_fn=found[(ids["cx-next"], "click")],
            next_trigger=ids["cx-next"],
            chain_fn=found[(ids["cx-chain"], "submit")],
            chain_trigger=ids["cx-chain"],
            submit_fn=found[(ids["cx-answer"], "submit")],
            submit_trigger=ids["cx-answer"],
            load_fn=load[0],
            load_trigger=load[1],
            unqueued=frozenset(d["id"] for d in config["dependencies"] if not d.get("queue", True)),
        )


@dataclass
class Tally:
    """What one reviewer did and saw."""

    verdict_s: list[float] = field(default_factory=list)
    other_s: list[float] = field(default_factory=list)
    acked: set[str] = field(default_factory=set)  # request ids the server confirmed
    retries: int = 0
    submitted: int = 0
    errors: list[str] = field(default_factory=list)


FILTERS = ["", "open", 0, ""]  # task type, status, model version, demo: the worklist's defaults


class Reviewer:
    """One logged-in browser tab on /review/."""

    def __init__(self, base: str, username: str, password: str, endpoints: Endpoints | None = None) -> None:
        self.base = base
        self.username, self.password = username, password
        self.http = httpx.AsyncClient(base_url=base, timeout=60)
        self.session_hash = secrets.token_hex(6)
        self.endpoints = endpoints
        self.tally = Tally()
        self.case_id: int | None = None

    async def login(self) -> None:
        r = await self.http.post("/login", data={"username": self.username, "password": self.password})
        if r.status_code != 303:
            raise RuntimeError(f"login of {self.username} failed: {r.status_code}")
        if self.endpoints is None:
            config = (await self.http.get("/review/config")).json()
            self.endpoints = Endpoints.from_config(config)

    async def close(self) -> None:
        await self.http.aclose()

    async def call(self, fn: int, trigger: int, data: list[Any], event_data: dict | None = None) -> list[Any]:
        """Join the queue, then read the event stream until this event completes; its outputs."""
        body = {
            "data": data,
            "event_data": event_data,
            "fn_index": fn,
            "trigger_id": trigger,
            "session_hash": self.session_hash,
        }
        if fn in self.endpoints.unqueued:
            r = await self.http.post("/review/gradio_api/run/predict", json=body)
            r.raise_for_status()
            return r.json()["data"]
        r = await self.http.post("/review/gradio_api/queue/join", json=body)
        r.raise_for_status()
        event_id = r.json()["event_id"]
        params = {"session_hash": self.session_hash}
        async with self.http.stream("GET", "/review/gradio_api/queue/data", params=params) as stream:
            async for line in stream.aiter_lines():
                if not line.startswith("data:"):
                    continue
                msg = json.loads(line[5:])
                if msg.get("event_id") != event_id or msg.get("msg") != "process_completed":
                    continue
                if not msg.get("success"):
                    raise RuntimeError(f"event failed: {str(msg.get('output'))[:300]}")
                return msg["output"]["data"]
        raise RuntimeError("the event stream ended without an answer")

    async def open_page(self) -> float:
        """What the browser does on page load: the page's load event (worklist, nav); its time."""
        e = self.endpoints
        start = time.perf_counter()
        await self.call(e.load_fn, e.load_trigger, list(FILTERS))
        return time.perf_counter() - start

    async def next_case(self) -> list[int]:
        """Claim the next case; the ids of its model steps (empty when nothing is waiting)."""
        e = self.endpoints
        start = time.perf_counter()
        out = await self.call(e.next_fn, e.next_trigger, [None, *FILTERS])
        self.tally.other_s.append(time.perf_counter() - start)
        header = next((o for o in out if isinstance(o, str) and "data-case-id=" in o), "")
        found = CASE.search(header)
        self.case_id = int(found.group(1)) if found else None
        chain = next((o for o in out if isinstance(o, str) and 'class="cx-chain"' in o), None)
        if chain is None:
            chain = next(
                (o.get("value") for o in out if isinstance(o, dict) and 'class="cx-chain"' in str(o)), ""
            )
        return [int(x) for x in STEP.findall(chain or "")]

    async def verdict(
        self, step_id: int, verdict: str, *, text: str = "", comment: str = "", retry: bool = False
    ) -> None:
        """One verdict, timed from the click to the rendered answer; optionally sent twice."""
        e = self.endpoints
        action = {"kind": "verdict", "step_id": step_id, "verdict": verdict, "request_id": uuid.uuid4().hex}
        if text:
            action["text"] = text
        if comment:
            action["comment"] = comment
        for attempt in range(2 if retry else 1):
            start = time.perf_counter()
            out = await self.call(e.chain_fn, e.chain_trigger, [None], action)
            elapsed = time.perf_counter() - start
            html = next((o for o in out if isinstance(o, str) and "cx-chain" in o), "")
            if f'data-ack="{action["request_id"]}" data-ack-ok="1"' not in html:
                self.tally.errors.append(f"verdict not acknowledged: {html[:200]}")
                return
            if attempt == 0:
                self.tally.verdict_s.append(elapsed)
            else:
                self.tally.retries += 1
        self.tally.acked.add(action["request_id"])

    async def submit(self) -> None:
        e = self.endpoints
        start = time.perf_counter()
        answer = {"case_id": self.case_id, "verdict": "agree", "chosen": [], "comment": ""}
        out = await self.call(e.submit_fn, e.submit_trigger, [None, *FILTERS], answer)
        self.tally.other_s.append(time.perf_counter() - start)
        if not any(isinstance(o, str) and "submitted" in o and "cx-ok" in o for o in out):
            self.tally.errors.append(f"submit failed: {[str(o)[:120] for o in out if 'cx-' in str(o)][:2]}")
        else:
            self.tally.submitted += 1
