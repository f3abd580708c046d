"""The rule-based RadRScore judge (issue 7): findings matched by sentence embeddings under hard constraints.

No longer the offline default (that is the learned judge, :mod:`reasoner.radrscore.offline`, which
reads the same extraction); kept as ``--judge rules`` and as the baseline the learned judge is
measured against. Its thresholds were tuned by hand on the 102 items of issue 7.

It mirrors the paper's four judge calls without a language model. Findings with a status are
extracted from the reference steps, the model steps and the report
(:mod:`reasoner.radrscore.extract`); findings are compared by the cosine of their cores'
all-MiniLM-L6-v2 embeddings under hard constraints (:mod:`reasoner.radrscore.matching`). The
unit of both chains is the step that states findings (the closing restatement aside): the
paper's judge extracts about one observation per reference step.

1. completeness: reference steps recalled by the model / reference steps. A reference step is
   recalled when a model step speaks about the same observation (similar cores, compatible
   sides), paired one to one. By default the statuses need not agree (``completeness="topic"``):
   completeness asks whether the model looked at what the reference looked at, factuality whether
   it got it right; the paper's judge (GPT-4o) recalls findings stated with the opposite status as
   often as those stated with the same one. ``completeness="fact"`` requires the same fact.
2. factuality: model steps that are factual / model steps. A step is factual when at least half
   of its findings are supported: by the answer key first (a finding an option names is present
   when the correct option names it, absent when only a distractor does,
   :mod:`reasoner.radrscore.answerkey`), else by the report (same fact: supported; contradicted:
   not), else by the reference the same way, else by the paper's rule that the report's silence
   means normal (a negative finding is supported, a positive one is not).
3. effectiveness: a model step is effective when it establishes a finding the reference's answer
   rests on, or, in a chain that reaches the reference's answer, when it does not contradict the
   reference (see :meth:`RuleJudge._effective_steps`).

"no pneumothorax" and "pneumothorax" are never the same *fact* (factuality, effectiveness, and
completeness in "fact" mode); "left effusion" never matches "right effusion" in any relation.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import numpy as np

from reasoner.radrscore import matching
from reasoner.radrscore.answerkey import OptionFinding, key_findings, option_findings, reference_letters
from reasoner.radrscore.embedding import PhraseEmbedder, default_embedder
from reasoner.radrscore.extract import dedupe, extract_findings, is_conclusion, split_sentences
from reasoner.radrscore.score import answer_letters
from reasoner.radrscore.text import is_closing
from reasoner.radrscore.types import Finding, Flag, Judgement, Sample

compatible = matching.compatible  # re-exported: the hard status constraint
_CHUNK = 16  # samples extracted per embedding call while the previous call runs


@dataclass(frozen=True)
class RuleJudgeConfig:
    """Thresholds (cosine similarities of finding cores) and modes of the offline judge."""

    # Same fact: factuality's support and effectiveness.
    match_threshold: float = 0.7
    conflict_threshold: float = 0.75
    # Same topic: completeness's recall.
    topic_threshold: float = 0.65
    # A model finding names an option's finding (factuality's answer key).
    option_threshold: float = 0.7
    # "topic": a reference step is recalled by a model step about the same observation, whatever
    # the status; "fact": only by one that states the same status.
    completeness: Literal["topic", "fact"] = "topic"
    # Factuality consults the answer key (the options' findings) before the report.
    answer_key: bool = True
    # "step": a chain's units are its steps that state findings (GPT-4o extracts about one
    # observation per step); "finding": every finding is a unit of its own.
    units: Literal["step", "finding"] = "step"
    # The closing restatement ("In conclusion, the final answer is ...") repeats earlier steps;
    # the paper's judge does not count it as a reasoning step of its own.
    skip_conclusion_steps: bool = True


@dataclass
class Extracted:
    """A sample's findings: per reference step, per model step, of the report, and derived sets."""

    reference_steps: list[list[Finding]]
    step_findings: list[list[Finding]]
    report: list[Finding]
    reference: list[Finding]  # all reference findings, restatements removed
    model: list[Finding]  # all model findings, restatements removed
    key: list[Finding]
    options: list[OptionFinding]

    def findings(self) -> list[Finding]:
        """Every finding whose cores the judge may compare."""
        options = [o.finding for o in self.options]
        steps = [f for fs in (*self.reference_steps, *self.step_findings) for f in fs]
        return [*steps, *self.report, *self.key, *options]


def counted_steps(steps: Sequence[str], findings: Sequence[Sequence[Finding]]) -> list[int]:
    """Indices of the steps a score counts as units: those stating findings, closing aside.

    A chain whose only findings are in its closing restatement keeps that restatement.
    """
    stating = [i for i, fs in enumerate(findings) if fs]
    return [i for i in stating if not is_closing(steps[i])] or stating


class RuleJudge:
    """Finding extraction with status, negation and laterality; matching by embeddings."""

    name = "rules"

    def __init__(
        self, *, embedder: PhraseEmbedder | None = None, config: RuleJudgeConfig | None = None
    ) -> None:
        self.embedder = embedder or default_embedder()
        self.config = config or RuleJudgeConfig()

    def extract(self, sample: Sample) -> Extracted:
        """Findings of the reference and model chains (per step), the report and the options."""
        steps = [extract_findings(step, step_index=i) for i, step in enumerate(sample.model_steps)]
        ref_steps = [extract_findings(step, step_index=i) for i, step in enumerate(sample.reference_steps)]
        report: list[Finding] = []
        for i, sentence in enumerate(split_sentences(sample.report)):
            report.extend(extract_findings(sentence, step_index=i))
        reference = dedupe([f for fs in ref_steps for f in fs])
        return Extracted(
            reference_steps=ref_steps,
            step_findings=steps,
            report=dedupe(report),
            reference=reference,
            model=dedupe([f for fs in steps for f in fs]),
            key=key_findings(sample, reference),
            options=option_findings(sample),
        )

    def judge(self, samples: Sequence[Sample]) -> list[Judgement]:
        """Judgements for ``samples``.

        Extraction (regular expressions, this thread) and embedding (torch, a worker thread) of
        the batch overlap: while one chunk's new phrases are embedded, the next chunk's findings
        are extracted. Matching then runs on the cached vectors.
        """
        extracted: list[Extracted] = []
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = []
            for start in range(0, len(samples), _CHUNK):
                chunk = [self.extract(s) for s in samples[start : start + _CHUNK]]
                extracted.extend(chunk)
                cores = sorted({c for e in chunk for f in e.findings() for c in f.cores})
                pending.append(pool.submit(self.embedder.encode, cores))
            for future in pending:
                future.result()
        return self.judge_extracted(samples, extracted)

    def judge_extracted(self, samples: Sequence[Sample], extracted: Sequence[Extracted]) -> list[Judgement]:
        """Judgements from findings already extracted (:meth:`extract`), one embedding call."""
        cores = sorted({core for e in extracted for f in e.findings() for core in f.cores})
        vectors = self.embedder.encode(cores) if cores else np.zeros((0, 1), dtype=np.float32)
        index = {core: i for i, core in enumerate(cores)}
        return [self._judge_one(s, e, vectors, index) for s, e in zip(samples, extracted, strict=True)]

    def match(self, left: Sequence[Finding], right: Sequence[Finding]) -> tuple[np.ndarray, np.ndarray]:
        """(same fact, contradiction) boolean matrices of two finding lists, embedding as needed."""
        vectors, index = self._embed(left, right)
        return self._relations(left, right, vectors, index)

    def same_topic(self, left: Sequence[Finding], right: Sequence[Finding]) -> np.ndarray:
        """Boolean matrix: which pairs speak about the same observation, statuses aside."""
        vectors, index = self._embed(left, right)
        return matching.same_topic(left, right, vectors, index, threshold=self.config.topic_threshold)

    def _embed(self, *groups: Sequence[Finding]) -> tuple[np.ndarray, dict[str, int]]:
        cores = sorted({c for g in groups for f in g for c in f.cores})
        vectors = self.embedder.encode(cores) if cores else np.zeros((0, 1), dtype=np.float32)
        return vectors, {c: i for i, c in enumerate(cores)}

    def _relations(
        self, left: Sequence[Finding], right: Sequence[Finding], vectors: np.ndarray, index: dict
    ) -> tuple[np.ndarray, np.ndarray]:
        return matching.relations(
            left,
            right,
            vectors,
            index,
            match_threshold=self.config.match_threshold,
            conflict_threshold=self.config.conflict_threshold,
        )

    def _judge_one(self, sample: Sample, ex: Extracted, vectors: np.ndarray, index: dict) -> Judgement:
        flags: list[str] = []
        if not sample.model_steps:
            flags.append(Flag.NO_MODEL_STEPS)
        if not sample.reference_steps:
            flags.append(Flag.NO_REFERENCE)
        if sample.reference_steps and not ex.reference:
            flags.append(Flag.NO_REFERENCE_FINDINGS)
        if sample.model_steps and not ex.model:
            flags.append(Flag.NO_MODEL_FINDINGS)
        recall = self._completeness(sample, ex, vectors, index)
        support = self._factuality(sample, ex, vectors, index)
        effective, counted = self._effective_steps(sample, ex, vectors, index)
        return Judgement(
            n_reference_findings=recall["n_units"],
            n_recalled=recall["n_recalled"],
            n_model_findings=support["n_units"],
            n_supported=support["n_factual"],
            n_steps=len(counted),
            n_effective=sum(effective),
            reference_findings=recall["findings"],
            model_findings=support["findings"],
            recalled=recall["recalled"],
            supported=support["supported"],
            effective=tuple(effective),
            flags=tuple(flags),
            detail={
                "report_findings": [f.as_paper() for f in ex.report],
                "counted_steps": counted,
                "recalled_units": recall["pairs"],
                "recalled_same_status": recall["n_same_status"],
                "factual_units": support["factual_units"],
            },
        )

    def _completeness(self, sample: Sample, ex: Extracted, vectors: np.ndarray, index: dict) -> dict:
        """Reference steps (stating findings) paired one to one with model steps on their topic."""
        ref_units = counted_steps(sample.reference_steps, ex.reference_steps)
        model_units = counted_steps(sample.model_steps, ex.step_findings)
        ref = [f for i in ref_units for f in ex.reference_steps[i]]
        model = [f for i in model_units for f in ex.step_findings[i]]
        threshold = self.config.topic_threshold
        topic = matching.same_topic(ref, model, vectors, index, threshold=threshold)
        _, agree = matching.constraints(ref, model) if ref and model else (None, np.zeros_like(topic))
        if self.config.units == "step":
            ref_of, model_of = [f.step for f in ref], [f.step for f in model]
        else:
            ref_of, model_of = list(range(len(ref))), list(range(len(model)))
        same_status = matching.matched_units(topic & agree, ref_of, model_of)
        if self.config.completeness == "fact":
            pairs = same_status
        else:
            pairs = matching.matched_units(topic, ref_of, model_of)
        return {
            "n_units": len(set(ref_of)),
            "n_recalled": len(pairs),
            "n_same_status": len(same_status),
            "pairs": {int(k): int(v) for k, v in pairs.items()},
            "findings": tuple(ref),
            "recalled": tuple(unit in pairs for unit in ref_of),
        }

    def _factuality(self, sample: Sample, ex: Extracted, vectors: np.ndarray, index: dict) -> dict:
        """Model steps (stating findings) whose findings are mostly supported (see the module doc)."""
        units = counted_steps(sample.model_steps, ex.step_findings)
        model = [f for i in units for f in ex.step_findings[i]]
        supported = self._supported(model, ex, vectors, index)
        if self.config.units == "finding":
            units, factual = list(range(len(model))), list(supported)
        else:
            factual = []
            for unit in units:
                verdicts = [ok for f, ok in zip(model, supported, strict=True) if f.step == unit]
                factual.append(2 * sum(verdicts) >= len(verdicts))
        return {
            "n_units": len(units),
            "n_factual": sum(factual),
            "factual_units": [u for u, ok in zip(units, factual, strict=True) if ok],
            "findings": tuple(model),
            "supported": supported,
        }

    def _supported(
        self, model: Sequence[Finding], ex: Extracted, vectors: np.ndarray, index: dict
    ) -> tuple[bool, ...]:
        """Per model finding: the answer key, then the report, then the reference decide.

        Where none speaks, the report's silence means normal: a negative finding is supported, a
        positive one is not.
        """
        options = [o.finding for o in ex.options] if self.config.answer_key else []
        named = matching.best_similarity(model, options, vectors, index)
        if options and model:
            named = np.where(matching.constraints(model, options)[0], named, -1.0)
        by_report = self._relations(model, ex.report, vectors, index)
        by_reference = self._relations(model, ex.reference, vectors, index)
        out = []
        for i, finding in enumerate(model):
            if options and named[i].max() >= self.config.option_threshold:
                out.append(finding.status.positive == ex.options[int(named[i].argmax())].present)
                continue
            verdict = not finding.status.positive
            for match, conflict in (by_report, by_reference):
                if match[i].any() or conflict[i].any():
                    verdict = bool(match[i].any())
                    break
            out.append(verdict)
        return tuple(out)

    def _effective_steps(
        self, sample: Sample, ex: Extracted, vectors: np.ndarray, index: dict
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
