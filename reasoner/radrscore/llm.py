"""The LLM RadRScore judge: the paper's four judge calls to an OpenAI-compatible endpoint.

Per sample: key findings of the reference and of the model output, then recall, precision and
efficiency calls (:mod:`reasoner.radrscore.prompts`), each answered with a JSON object. The
counts the paper divides come straight from those answers.

An endpoint answers as an LLM does, so nothing it returns is trusted: a reply wrapped in code
fences or prose is unwrapped, a reply that is still not a JSON object of the expected shape is
asked once more (as the paper's evaluator does) and then recorded as ``judge_malformed_json``; an
HTTP error, a timeout or a refused connection is retried once and then recorded as
``judge_error``. Either way the components that needed that call are None, the others are kept,
and :meth:`LLMJudge.judge` never raises for one sample.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from reasoner.radrscore import prompts
from reasoner.radrscore.types import Finding, Flag, Judgement, Sample, Status

_FENCE = re.compile(r"```(?:json)?", re.IGNORECASE)
_NEGATIVE = re.compile(
    r"\b(?:not|no|none|absent|excluded|ruled out|negative|unlikely|normal|clear|resolved|unconfirmed)\b",
    re.IGNORECASE,
)


class JudgeCallError(Exception):
    """One judge call failed; ``flag`` says whether the endpoint failed or its JSON did."""

    def __init__(self, flag: Flag, message: str) -> None:
        super().__init__(message)
        self.flag = flag


def parse_json_reply(text: str) -> dict[str, Any]:
    """The JSON object in an LLM reply (code fences and surrounding prose tolerated).

    Raises JudgeCallError(judge_malformed_json) when no JSON object can be read.
    """
    cleaned = _FENCE.sub("", text or "").strip()
    start, end = cleaned.find("{"), cleaned.rfind("}")
    if start < 0 or end <= start:
        raise JudgeCallError(Flag.JUDGE_MALFORMED, "no JSON object in the reply")
    try:
        value = json.loads(cleaned[start : end + 1])
    except json.JSONDecodeError as exc:
        raise JudgeCallError(Flag.JUDGE_MALFORMED, f"invalid JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise JudgeCallError(Flag.JUDGE_MALFORMED, "the reply is not a JSON object")
    return value


def status_from_text(text: str) -> Status:
    """A free-text status ("confirmed as present", "not present") mapped onto :class:`Status`."""
    lowered = (text or "").lower()
    if re.search(r"improv", lowered):
        return Status.IMPROVED
    if re.search(r"wors|progress", lowered):
        return Status.WORSENED
    if _NEGATIVE.search(lowered):
        return Status.NORMAL if "normal" in lowered else Status.ABSENT
    if re.search(r"stable|unchanged", lowered):
        return Status.STABLE
    if re.search(r"possibl|suspect|may |might|uncertain|equivocal", lowered):
        return Status.UNCERTAIN
    return Status.PRESENT


@dataclass(frozen=True)
class LLMJudgeConfig:
    """Endpoint and call settings of the LLM judge."""

    base_url: str
    model: str
    api_key: str | None = None
    timeout_s: float = 120.0
    attempts: int = 2
    concurrency: int = 4
    temperature: float = 0.0


class LLMJudge:
    """RadRScore judged by an LLM behind an OpenAI-compatible ``/chat/completions`` endpoint."""

    name = "llm"

    def __init__(self, config: LLMJudgeConfig, *, client: httpx.Client | None = None) -> None:
        self.config = config
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        self._client = client or httpx.Client(headers=headers, timeout=config.timeout_s)
        self._url = config.base_url.rstrip("/") + "/chat/completions"

    def close(self) -> None:
        self._client.close()

    def judge(self, samples: Sequence[Sample]) -> list[Judgement]:
        """One judgement per sample; samples are judged concurrently, calls within one in order."""
        with ThreadPoolExecutor(max_workers=max(1, self.config.concurrency)) as pool:
            return list(pool.map(self._judge_one, samples))

    def _chat(self, messages: list[dict[str, str]]) -> str:
        body = {"model": self.config.model, "messages": messages, "temperature": self.config.temperature}
        try:
            response = self._client.post(self._url, json=body)
        except httpx.HTTPError as exc:
            raise JudgeCallError(Flag.JUDGE_ERROR, f"{type(exc).__name__}: {exc}") from None
        if response.status_code >= 400:
            raise JudgeCallError(Flag.JUDGE_ERROR, f"HTTP {response.status_code}")
        try:
            return str(response.json()["choices"][0]["message"]["content"])
        except (ValueError, KeyError, IndexError, TypeError):
            raise JudgeCallError(Flag.JUDGE_ERROR, "not an OpenAI chat completion") from None

    def _call(self, messages: list[dict[str, str]], check: Callable[[dict], Any]) -> Any:
        """The checked answer to one prompt; retried up to ``attempts`` times, then raised."""
        error = JudgeCallError(Flag.JUDGE_ERROR, "no attempt made")
        for _ in range(max(1, self.config.attempts)):
            try:
                return check(parse_json_reply(self._chat(messages)))
            except JudgeCallError as exc:
                error = exc
        raise error

    def _judge_one(self, sample: Sample) -> Judgement:
        flags: list[str] = []
        errors: dict[str, str] = {}

        def attempt(name: str, messages: list[dict[str, str]], check: Callable[[dict], Any]) -> Any:
            try:
                return self._call(messages, check)
            except JudgeCallError as exc:
                flags.append(exc.flag)
                errors[name] = str(exc)
                return None

        if not sample.reference_steps:
            flags.append(Flag.NO_REFERENCE)
        if not sample.model_steps:
            flags.append(Flag.NO_MODEL_STEPS)
        model_text = sample.model_text or " ".join(sample.model_steps)
        reference = (
            attempt("reference_findings", prompts.key_findings(list(sample.reference_steps)), _findings)
            if sample.reference_steps
            else []
        )
        model = attempt("model_findings", prompts.key_findings(model_text), _findings) if model_text else []
        recalled = None
        if reference and model:
            recalled = attempt("recall", prompts.recall(_paper(reference), _paper(model)), _count("recalled"))
        elif reference is not None and model is not None:
            recalled = 0
        supported = None
        if model:
            supported = attempt(
                "precision", prompts.precision(sample.report, _paper(model)), _count("correct")
            )
        elif model is not None:
            supported = 0
        efficiency = (
            attempt("efficiency", prompts.efficiency(list(sample.reference_steps), model_text), _efficiency)
            if model_text and sample.reference_steps
            else (0, 0)
        )
        return Judgement(
            n_reference_findings=len(reference) if reference is not None else None,
            n_recalled=_clamp(recalled, reference),
            n_model_findings=len(model) if model is not None else None,
            n_supported=_clamp(supported, model),
            n_steps=sum(efficiency) if efficiency is not None else None,
            n_effective=efficiency[0] if efficiency is not None else None,
            reference_findings=tuple(reference or ()),
            model_findings=tuple(model or ()),
            flags=tuple(dict.fromkeys(flags)),
            detail={"errors": errors} if errors else {},
        )


def _paper(findings: Sequence[Finding]) -> dict[str, list[dict[str, str]]]:
    return {"key_conclusion": [f.as_paper() for f in findings]}


def _clamp(count: int | None, findings: Sequence[Finding] | None) -> int | None:
    if count is None or findings is None:
        return None
    return max(0, min(count, len(findings)))


def _findings(reply: dict) -> list[Finding]:
    rows = reply.get("key_conclusion")
    if not isinstance(rows, list):
        raise JudgeCallError(Flag.JUDGE_MALFORMED, "key_conclusion is not a list")
    out = []
    for i, row in enumerate(rows):
        if isinstance(row, dict) and str(row.get("observation", "")).strip():
            observation, status = str(row["observation"]).strip(), str(row.get("status", ""))
        elif isinstance(row, str) and row.strip():
            observation, status = row.strip(), ""
        else:
            continue
        out.append(Finding(observation, status_from_text(status), observation.lower(), step=i))
    return out


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise JudgeCallError(Flag.JUDGE_MALFORMED, f"{name} is not a number")
    try:
        number = int(float(value))
    except ValueError:
        raise JudgeCallError(Flag.JUDGE_MALFORMED, f"{name} is not a number") from None
    if number < 0:
        raise JudgeCallError(Flag.JUDGE_MALFORMED, f"{name} is negative")
    return number


def _count(prefix: str) -> Callable[[dict], int]:
    """Reader of ``<prefix>_count``, falling back to the length of the listed items."""
    listed = {"recalled": "recalled_findings", "correct": "correct_steps"}[prefix]

    def check(reply: dict) -> int:
        if f"{prefix}_count" in reply:
            return _int(reply[f"{prefix}_count"], f"{prefix}_count")
        if isinstance(reply.get(listed), list):
            return len(reply[listed])
        raise JudgeCallError(Flag.JUDGE_MALFORMED, f"no {prefix}_count")

    return check


def _efficiency(reply: dict) -> tuple[int, int]:
    if "effective_count" not in reply or "ineffective_count" not in reply:
        raise JudgeCallError(Flag.JUDGE_MALFORMED, "no effective_count / ineffective_count")
    return _int(reply["effective_count"], "effective_count"), _int(
        reply["ineffective_count"], "ineffective_count"
    )
