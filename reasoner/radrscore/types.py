"""Value types shared by RadRScore's judges and scorer: findings, samples, judgements, scores.

A judge turns a :class:`Sample` (model steps, reference steps, report, question) into a
:class:`Judgement` (how many reference findings the model recalled, how many model findings the
report supports, how many model steps were effective); :mod:`reasoner.radrscore.score` turns a
judgement into a :class:`SampleScore`. All types are frozen dataclasses of plain values, so they
cross process and JSON boundaries unchanged.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field


class Status(enum.StrEnum):
    """What a chain says about one observation (the paper's ``status``)."""

    PRESENT = "present"
    ABSENT = "absent"
    NORMAL = "normal"
    UNCERTAIN = "uncertain"
    IMPROVED = "improved"
    WORSENED = "worsened"
    STABLE = "stable"

    @property
    def positive(self) -> bool:
        """True when the status asserts the observation is there (in any degree or course)."""
        return self not in (Status.ABSENT, Status.NORMAL)


class Flag(enum.StrEnum):
    """Why a score is undefined or less trustworthy; written beside the scores."""

    NO_MODEL_STEPS = "no_model_steps"
    NO_MODEL_FINDINGS = "no_model_findings"
    NO_REFERENCE = "no_reference"
    NO_REFERENCE_FINDINGS = "no_reference_findings"
    NO_ANSWER = "no_answer"
    NO_REFERENCE_ANSWER = "no_reference_answer"
    MALFORMED_OUTPUT = "malformed_output"
    JUDGE_ERROR = "judge_error"
    JUDGE_MALFORMED = "judge_malformed_json"


@dataclass(frozen=True)
class Finding:
    """One observation with its status, as the paper's judge extracts it.

    ``observation`` is the phrase as written; ``core`` the normalised phrase that is compared
    (synonyms mapped, fillers, severity, laterality and negation removed); ``laterality`` is
    ``left``, ``right``, ``bilateral`` or None; ``step`` the index of the step it came from; ``aliases``
    other cores the same step gave it ("no rounded opacity ..., excluding a nodule").
    """

    observation: str
    status: Status
    core: str = ""
    laterality: str | None = None
    region: str | None = None
    step: int = 0
    aliases: tuple[str, ...] = ()

    @property
    def cores(self) -> tuple[str, ...]:
        """The core and its aliases (other names the same step gave this finding)."""
        return (self.core, *self.aliases)

    def as_paper(self) -> dict[str, str]:
        """The paper's JSON shape: ``{"observation": ..., "status": ...}``."""
        return {"observation": self.observation, "status": str(self.status)}


@dataclass(frozen=True)
class Sample:
    """What a judge sees of one item.

    ``model_steps`` and ``reference_steps`` are the chains' steps; ``model_text`` the model's
    full output (the LLM judge's effectiveness prompt reads it whole, as the paper's does);
    ``options`` maps option letters to their text when the question has options;
    ``model_answer`` is the text of the model's ``<answer>``; ``reference_answer`` the reference
    answer (``<answer> C </answer>``) when the item has one.
    """

    model_steps: tuple[str, ...]
    reference_steps: tuple[str, ...]
    report: str = ""
    question: str = ""
    options: tuple[tuple[str, str], ...] = ()
    model_text: str = ""
    model_answer: str = ""
    task_type: str = "unknown"
    reference_answer: str = ""


@dataclass(frozen=True)
class Judgement:
    """A judge's verdicts on one sample: counts (what the paper's scores divide) and details.

    Counts are None where the judge could not produce them (an endpoint that failed); the
    score for that component is then undefined and ``flags`` says why.
    """

    n_reference_findings: int | None
    n_recalled: int | None
    n_model_findings: int | None
    n_supported: int | None
    n_steps: int | None
    n_effective: int | None
    reference_findings: tuple[Finding, ...] = ()
    model_findings: tuple[Finding, ...] = ()
    recalled: tuple[bool, ...] = ()
    supported: tuple[bool, ...] = ()
    effective: tuple[bool, ...] = ()
    flags: tuple[str, ...] = ()
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SampleScore:
    """RadRScore of one sample; a component is None where its denominator is zero or missing."""

    completeness: float | None
    factuality: float | None
    effectiveness: float | None
    flags: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        out = asdict(self)
        out["flags"] = list(self.flags)
        return out
