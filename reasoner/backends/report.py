"""The report-mining backend: chains from the study's report, offline or through an LLM.

Contract: see :mod:`reasoner.backends.base`. Without an LLM client the chain is
:func:`reasoner.report_mining.mine_chain` (deterministic, offline). With one (any
OpenAI-compatible endpoint, see :class:`reasoner.backends.openai.ChatClient`) it follows the
paper's three stages: *plan* (which regions and findings matter for this question), *steps*
(one observation or inference per line, grounded in the report), *refine* (a coherent chain in
``<think>...</think><answer>...</answer>`` form, ending with the reference answer when known);
the refine stage is streamed. A request without a report is an input error.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

from reasoner.backends.base import BackendInfo, GenerationParams, ReasonRequest
from reasoner.errors import BackendError
from reasoner.events import Error, Event, EventMapper
from reasoner.prompts import build_prompt
from reasoner.report_mining import mine_chain

PLAN_PROMPT = (
    "You are a radiologist preparing to explain a chest X-ray question from its report.\n"
    "Report:\n{report}\n\nQuestion:\n{question}\n\n"
    "List, one per line, the anatomical regions (lungs, pleura, heart and mediastinum, diaphragm, "
    "bones, devices) and the specific findings that must be examined to answer the question."
)
STEPS_PROMPT = (
    "Report:\n{report}\n\nQuestion:\n{question}\n\nPlan:\n{plan}\n\n"
    "Following the plan, write the reasoning steps, one per line. Each step states what is seen "
    "in one region (only what the report supports) or what an observation implies for the options."
)
REFINE_PROMPT = (
    "Question:\n{question}\n\nDraft steps:\n{steps}\n\n"
    "Rewrite the draft as one coherent chain of reasoning, as a radiologist would explain it while "
    "looking at the image (do not mention the report), ending with a conclusion{answer_hint}. "
    "Enclose the reasoning within <think></think> and the answer letter(s) within <answer></answer>."
)


def _words(text: str, size: int = 24) -> list[str]:
    """Text in word-sized deltas, so offline chains stream like model output."""
    pieces = re.findall(r"\S+\s*|\s+", text)
    return ["".join(pieces[i : i + size]) for i in range(0, len(pieces), size)]


class ReportBackend:
    """Chains mined from ``request.report`` (see the module docstring)."""

    name = "report"

    def __init__(self, llm=None) -> None:
        """``llm``: a :class:`reasoner.backends.openai.ChatClient`, or None for offline mining."""
        self.llm = llm

    def describe(self) -> BackendInfo:
        if self.llm is None:
            return BackendInfo(self.name, "report-miner/rules-v1", {"mode": "offline"})
        return BackendInfo(self.name, self.llm.model, {"mode": "llm", "endpoint": self.llm.base_url})

    def stream(self, request: ReasonRequest, *, cancel: threading.Event | None = None) -> Iterator[Event]:
        info = self.describe()
        record = {"backend": self.name, "model": info.model_id, **info.params}
        mapper = EventMapper(options=request.task.options or None)
        if not (request.report or "").strip():
            yield Error("this case has no report to mine a chain from", "input")
            yield from mapper.finish("error", params=record)
            return
        if self.llm is None:
            mined = mine_chain(request.report, request.task, reference_answer=request.reference_answer)
            for delta in _words(mined.raw):
                if cancel is not None and cancel.is_set():
                    yield from mapper.finish("cancelled", params=record)
                    return
                yield from mapper.feed(delta)
            yield from mapper.finish("stop", params=record)
            return
        yield from self._llm_stream(request, mapper, record, cancel)

    def _llm_stream(self, request: ReasonRequest, mapper: EventMapper, record, cancel) -> Iterator[Event]:
        params = GenerationParams(max_new_tokens=request.params.max_new_tokens, temperature=0.0)
        question = build_prompt(request.task)
        hint = f" that gives the answer {request.reference_answer}" if request.reference_answer else ""
        record |= params.as_dict()
        try:
            plan = self.llm.complete(
                _user(PLAN_PROMPT.format(report=request.report, question=question)), params
            )
            steps = self.llm.complete(
                _user(STEPS_PROMPT.format(report=request.report, question=question, plan=plan)), params
            )
            refine = _user(REFINE_PROMPT.format(question=question, steps=steps, answer_hint=hint))
            reason = "stop"
            for text, finish in self.llm.stream_chat(refine, params, cancel=cancel):
                yield from mapper.feed(text)
                reason = "length" if finish == "length" else reason
        except BackendError as exc:
            yield Error(str(exc), exc.kind)
            reason = "error"
        if reason == "stop" and cancel is not None and cancel.is_set():
            reason = "cancelled"
        yield from mapper.finish(reason, params=record)


def _user(text: str) -> list[dict]:
    return [{"role": "user", "content": [{"type": "text", "text": text}]}]
