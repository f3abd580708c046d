"""The offline RadRScore judge: rule-based findings matched by sentence embeddings under hard constraints.

It mirrors the paper's four judge calls without a language model:

1. findings with a status are extracted from the reference steps, the model steps and the report
   (:mod:`reasoner.radrscore.extract`);
2. recall: a reference finding is recalled when some model finding matches it;
3. precision: a model finding is supported when a report finding matches it and unsupported when
   one contradicts it (same observation, opposite status); where the report is silent the
   reference decides the same way; where both are silent, the paper's rule that the report's
   silence means normal applies: a negative finding is supported, a positive one is not;
4. effectiveness: a model step is effective when it establishes a finding the reference's answer
   rests on, or, in a chain that reaches the reference's answer, when it does not contradict the
   reference (see :meth:`OfflineJudge._effective_steps`).

Two findings *match* when their cores are similar (cosine of all-MiniLM-L6-v2 embeddings at or
above ``match_threshold``) and the hard constraints hold: the statuses agree in polarity (present
vs absent; improved vs worsened also conflict) and the sides do not conflict (left vs right).
So "no pneumothorax" never matches "pneumothorax", and "left effusion" never matches "right
effusion", however similar the words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reasoner.radrscore.embedding import PhraseEmbedder, default_embedder
from reasoner.radrscore.extract import (
    dedupe,
    extract_findings,
    is_conclusion,
    split_sentences,
)
from reasoner.radrscore.score import answer_letters
from reasoner.radrscore.types import Finding, Flag, Judgement, Sample, Status

# "option B", "answer is: B", "A) ..." - the letter itself upper-case only ("is a" is no answer).
_CHOSEN = re.compile(r"\b(?i:option|answer(?:\s+is)?|choice)\s*:?\s*\(?([A-H])\b|(?:^|[\s:])\(?([A-H])\)")


@dataclass(frozen=True)
class OfflineJudgeConfig:
    """Thresholds of the offline judge (cosine similarities of finding cores)."""

    match_threshold: float = 0.7
    conflict_threshold: float = 0.75
    # The closing restatement ("In conclusion, the final answer is ...") repeats earlier steps;
    # the paper's judge does not count it as a reasoning step of its own.
    skip_conclusion_steps: bool = True


def _best_similarity(
    left: Sequence[Finding], right: Sequence[Finding], vectors: np.ndarray, index: dict
) -> np.ndarray:
    """(len(left), len(right)) cosine similarities, the maximum over each finding's cores."""
    left_rows = [index[c] for f in left for c in f.cores]
    right_rows = [index[c] for f in right for c in f.cores]
    sim = vectors[left_rows] @ vectors[right_rows].T
    left_starts = np.cumsum([0] + [len(f.cores) for f in left[:-1]])
    right_starts = np.cumsum([0] + [len(f.cores) for f in right[:-1]])
    sim = np.maximum.reduceat(sim, left_starts, axis=0)
    return np.maximum.reduceat(sim, right_starts, axis=1)


_SIDE_CODE = {"left": 1, "right": 2}
_COURSE_CODE = {Status.IMPROVED: 1, Status.WORSENED: 2}


def _constraints(left: Sequence[Finding], right: Sequence[Finding]) -> tuple[np.ndarray, np.ndarray]:
    """(sides compatible, statuses compatible) as boolean matrices, vectorised.

    Sides conflict only left against right; statuses must share polarity, and improved
    against worsened conflicts too (see :func:`compatible`).
    """

    def codes(fs: Sequence[Finding]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        side = np.array([_SIDE_CODE.get(f.laterality or "", 0) for f in fs])
        positive = np.array([f.status.positive for f in fs])
        course = np.array([_COURSE_CODE.get(f.status, 0) for f in fs])
        return side, positive, course

    ls, lp, lc = codes(left)
    rs, rp, rc = codes(right)
    sides = ~(((ls[:, None] == 1) & (rs[None, :] == 2)) | ((ls[:, None] == 2) & (rs[None, :] == 1)))
    courses = ~(((lc[:, None] == 1) & (rc[None, :] == 2)) | ((lc[:, None] == 2) & (rc[None, :] == 1)))
    return sides, (lp[:, None] == rp[None, :]) & courses


def compatible(a: Status, b: Status) -> bool:
    """Hard constraint on statuses: same polarity, and not improved against worsened."""
    if a.positive != b.positive:
        return False
    return {a, b} != {Status.IMPROVED, Status.WORSENED}


@dataclass
class _Extracted:
    reference: list[Finding]
    model: list[Finding]
    report: list[Finding]
    step_findings: list[list[Finding]]
    key: list[Finding]


def reference_letters(sample: Sample) -> frozenset[str]:
    """Option letters the reference chain concludes with ("the final answer is B"), or empty."""
    letters = {letter for letter, _ in sample.options}
    for step in reversed(sample.reference_steps):
        if not is_conclusion(step):
            continue
        found = {m.group(1) or m.group(2) for m in _CHOSEN.finditer(step)} & letters
        if found:
            return frozenset(found)
    return frozenset()


def key_findings(sample: Sample, reference: Sequence[Finding]) -> list[Finding]:
    """The reference findings the answer rests on.

    The findings of the option the reference concludes with when it names one (read as stated,
    present unless negated); else the findings of the reference's concluding steps; else its
    positive findings; else all of them.
    """
    chosen = reference_letters(sample)
    key = [
        f
        for letter, text in sample.options
        if letter in chosen
        for item in text.split(",")
        for f in extract_findings(item)
    ]
    if not key:
        concluding = {i for i, step in enumerate(sample.reference_steps) if is_conclusion(step)}
        key = [f for f in reference if f.step in concluding]
    return key or [f for f in reference if f.status.positive] or list(reference)


class OfflineJudge:
    """Finding extraction with status, negation and laterality; matching by embeddings."""

    name = "offline"

    def __init__(
        self, *, embedder: PhraseEmbedder | None = None, config: OfflineJudgeConfig | None = None
    ) -> None:
        self.embedder = embedder or default_embedder()
        self.config = config or OfflineJudgeConfig()

    def extract(self, sample: Sample) -> _Extracted:
        """Findings of the reference, the model chain (whole and per step) and the report."""
        steps = [extract_findings(step, step_index=i) for i, step in enumerate(sample.model_steps)]
        reference: list[Finding] = []
        for i, step in enumerate(sample.reference_steps):
            reference.extend(extract_findings(step, step_index=i))
        report: list[Finding] = []
        for i, sentence in enumerate(split_sentences(sample.report)):
            report.extend(extract_findings(sentence, step_index=i))
        model = dedupe([f for fs in steps for f in fs])
        reference = dedupe(reference)
        return _Extracted(reference, model, dedupe(report), steps, key_findings(sample, reference))

    def judge(self, samples: Sequence[Sample]) -> list[Judgement]:
        """Judgements for ``samples``; all finding cores of the batch are embedded at once."""
        extracted = [self.extract(s) for s in samples]
        cores = sorted(
            {
                core
                for e in extracted
                for f in (
                    *e.reference,
                    *e.model,
                    *e.report,
                    *e.key,
                    *(x for fs in e.step_findings for x in fs),
                )
                for core in f.cores
            }
        )
        vectors = self.embedder.encode(cores) if cores else np.zeros((0, 1), dtype=np.float32)
        index = {core: i for i, core in enumerate(cores)}
        return [self._judge_one(s, e, vectors, index) for s, e in zip(samples, extracted, strict=True)]

    def match(self, left: Sequence[Finding], right: Sequence[Finding]) -> tuple[np.ndarray, np.ndarray]:
        """(match, contradiction) boolean matrices of two finding lists, embedding as needed."""
        cores = sorted({c for f in (*left, *right) for c in f.cores})
        vectors = self.embedder.encode(cores) if cores else np.zeros((0, 1), dtype=np.float32)
        return self._relations(left, right, vectors, {c: i for i, c in enumerate(cores)})

    def _relations(
        self, left: Sequence[Finding], right: Sequence[Finding], vectors: np.ndarray, index: dict
    ) -> tuple[np.ndarray, np.ndarray]:
        """Boolean (len(left), len(right)) matrices: which pairs match, which contradict.

        The similarity of two findings is the best over their cores and aliases.
        """
        if not left or not right:
            empty = np.zeros((len(left), len(right)), dtype=bool)
            return empty, empty
        sim = _best_similarity(left, right, vectors, index)
        sides, agree = _constraints(left, right)
        match = (sim >= self.config.match_threshold) & sides & agree
        conflict = (sim >= self.config.conflict_threshold) & sides & ~agree
        return match, conflict

    def _judge_one(self, sample: Sample, ex: _Extracted, vectors: np.ndarray, index: dict) -> Judgement:
        flags: list[str] = []
        if not sample.model_steps:
            flags.append(Flag.NO_MODEL_STEPS)
        if not sample.reference_steps:
            flags.append(Flag.NO_REFERENCE)
        if sample.reference_steps and not ex.reference:
            flags.append(Flag.NO_REFERENCE_FINDINGS)
        if sample.model_steps and not ex.model:
            flags.append(Flag.NO_MODEL_FINDINGS)

        recall_match, _ = self._relations(ex.reference, ex.model, vectors, index)
        recalled = tuple(bool(row.any()) for row in recall_match)

        supported = self._supported(ex, vectors, index)

        effective, counted = self._effective_steps(sample, ex, vectors, index)
        return Judgement(
            n_reference_findings=len(ex.reference),
            n_recalled=sum(recalled),
            n_model_findings=len(ex.model),
            n_supported=sum(supported),
            n_steps=len(counted),
            n_effective=sum(effective),
            reference_findings=tuple(ex.reference),
            model_findings=tuple(ex.model),
            recalled=recalled,
            supported=supported,
            effective=tuple(effective),
            flags=tuple(flags),
            detail={"report_findings": [f.as_paper() for f in ex.report], "counted_steps": counted},
        )

    def _supported(self, ex: _Extracted, vectors: np.ndarray, index: dict) -> tuple[bool, ...]:
        """Per model finding: does the report (first) or the reference (then) support it?

        The report is the ground truth the paper's precision judge reads; the verified reference
        speaks where the report is silent. Where both are silent, the report's silence means
        normal: a negative finding is supported, a positive one is not.
        """
        by_report = self._relations(ex.model, ex.report, vectors, index)
        by_reference = self._relations(ex.model, ex.reference, vectors, index)
        out = []
        for i, finding in enumerate(ex.model):
            verdict = not finding.status.positive
            for match, conflict in (by_report, by_reference):
                if match[i].any() or conflict[i].any():
                    verdict = bool(match[i].any())
                    break
            out.append(verdict)
        return tuple(out)

    def _effective_steps(
        self, sample: Sample, ex: _Extracted, vectors: np.ndarray, index: dict
    ) -> tuple[list[bool], list[int]]:
        """Per counted step: effective or not; and the indices of the steps counted.

        Every step counts except the closing restatement (unless the chain has nothing else). A
        step is effective when it establishes what the answer rests on (one of its findings
        matches a key finding of the reference, :func:`key_findings`); in a chain that reaches
        the reference's answer, also when nothing in it contradicts the reference (ruling
        alternatives out, explaining a finding): such a step advances toward the answer because
        the chain arrives there. In a chain that does not, only establishing steps advance.
        """
        counted = [
            i
            for i, step in enumerate(sample.model_steps)
            if not (self.config.skip_conclusion_steps and is_conclusion(step))
        ] or list(range(len(sample.model_steps)))
        chosen = reference_letters(sample)
        reaches_answer = bool(chosen) and answer_letters(sample.model_answer) == chosen
        effective = []
        for i in counted:
            findings = ex.step_findings[i]
            establishes, _ = self._relations(findings, ex.key, vectors, index)
            consistent = False
            if reaches_answer:
                _, contradicted = self._relations(findings, ex.reference, vectors, index)
                consistent = not bool(contradicted.any())
            effective.append(bool(establishes.any()) or consistent)
        return effective, counted
