"""Mining a reasoning chain from a radiology report: deterministic, offline, explainable.

Contract: :func:`mine_chain` is a pure function from a report (Findings / Impression), a task
and optionally the reference answer to a :class:`MinedChain`: ordered steps in the paper's
style (what the report describes region by region - lungs, pleura, heart and mediastinum,
diaphragm, bones, devices - then what that implies for each option, then a conclusion that
matches the answer) and the raw ``<think>...</think><answer>...</answer>`` text, whose parse
gives exactly these steps. Same inputs, same chain.

How options are judged: each option is split into findings ("mild hypoinflation of lung, mild
elevation of right diaphragm" -> two); a finding is *supported* when a report sentence carries
most of its content words (after mapping synonyms such as "low lung volumes" ~ "hypoinflation")
without a negation before them, *contradicted* when such a sentence negates it ("no pleural
effusion"), *not mentioned* otherwise. With a reference answer the conclusion states it; without
one, the best-supported option(s) are chosen.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from reasoner.answers import normalize_letters
from reasoner.parsing import parse_output
from reasoner.prompts import Task, TaskType
from reasoner.segmenter import Segmenter

# Checked in this order (a sentence goes to its first match); keys match at word starts.
REGIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Devices", ("tube", "catheter", "picc", "pacemaker", "pacer", "wire", "clip", "port", "stent",
                 "sternotomy", "device", "hardware", "line", "drain", "instrument", "valve")),
    ("Heart and mediastinum", ("heart", "cardi", "mediastin", "aort", "hila", "hilum", "hilar",
                               "silhouette", "pericard", "trachea", "vascular")),
    ("Pleura", ("pleura", "effusion", "pneumothora", "costophrenic", "fissur")),
    ("Diaphragm", ("diaphragm", "hemidiaphragm", "subdiaphragm", "free air")),
    ("Bones", ("spine", "rib", "fractur", "osseous", "bone", "bony", "degenerative", "vertebra",
               "clavicle", "scoliosis", "osteophyt", "kyphosis", "skelet", "shoulder", "humer")),
    ("Lungs", ("lung", "pulmonary", "airspace", "air space", "opacit", "consolidat", "atelecta",
               "pneumonia", "nodul", "mass", "edema", "emphysema", "inflat", "granulom", "infiltrat",
               "interstitial", "volume", "scar", "apex", "apices", "lobe", "base", "copd")),
)  # fmt: skip
REGION_ORDER = ("Lungs", "Pleura", "Heart and mediastinum", "Diaphragm", "Bones", "Devices", "Other")
# Phrases that name the same finding, mapped to one word before matching.
SYNONYMS = (
    (
        r"\b(?:increase|enlargement) in (?:the )?heart size\b|\bheart size (?:is )?(?:enlarged|increased)\b",
        "cardiomegaly",
    ),
    (r"\benlarged (?:heart|cardiac silhouette|cardiac shadow)\b|\bcardiac enlargement\b", "cardiomegaly"),
    (r"\blow (?:lung )?volumes?\b|\bhypoinflat\w*|\bhypoexpan\w*|\bpoor inspiration\b", "hypoinflation"),
    (r"\bhyperinflat\w*|\bhyperexpan\w*", "hyperinflation"),
    (r"\bhemidiaphragms?\b|\bdiaphragms\b", "diaphragm"),
    (r"\bcicatri\w*|\bscarring\b|\bscars?\b|\bfibrotic\b", "scar"),
    (r"\bair ?space (?:disease|opacit\w+)|\bconsolidat\w*", "consolidation"),
    (r"\bpneumothora\w*", "pneumothorax"),
    (r"\beffusions\b", "effusion"),
    (r"\bstable\b|\bunchanged\b|\bno (?:significant |interval )?change\b", "unchanged"),
    (r"\bimprov\w*|\bdecreas\w*|\bresolv\w*", "improved"),
    (r"\bworse\w*|\bincreas\w*|\bprogress\w*", "worsened"),
)
_SYNONYMS = [(re.compile(p, re.IGNORECASE), w) for p, w in SYNONYMS]
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "and",
        "or",
        "with",
        "without",
        "is",
        "are",
        "was",
        "were",
        "be",
        "there",
        "this",
        "that",
        "these",
        "those",
        "mild",
        "mildly",
        "moderate",
        "moderately",
        "severe",
        "small",
        "large",
        "minimal",
        "slight",
        "slightly",
        "right",
        "left",
        "bilateral",
        "bilaterally",
        "both",
        "upper",
        "lower",
        "middle",
        "mid",
        "base",
        "bases",
        "possible",
        "likely",
        "probable",
        "seen",
        "noted",
        "present",
        "chest",
        "x-ray",
        "xray",
        "image",
        "images",
        "used",
        "finding",
        "findings",
    ]
)
# Anatomy alone does not make a match ("nodule in right lung" is not about "clear lungs").
ANATOMY = frozenset({"lung", "lobe", "pulmon", "chest", "hilum", "hilar", "apex", "apical", "apice",
                     "pleura", "heart", "cardia", "thorac", "region", "zone", "side", "area"})  # fmt: skip
NEGATION = re.compile(
    r"\b(?:no|not|without|negative for|free of|absence of|absent|clear of|resolved|"
    r"no evidence of|no signs? of|ruled out|excluded)\b",
    re.IGNORECASE,
)
_SECTION = re.compile(
    r"\b(findings|impression|comparison|indication|history|technique)\s*:\s*", re.IGNORECASE
)
_NORMAL = re.compile(r"\b(?:normal|clear|unremarkable|stable|intact)\b", re.IGNORECASE)
_WORD = re.compile(r"[a-z][a-z0-9-]+")
_REGION_RES = [(name, re.compile(r"\b(?:" + "|".join(keys) + ")", re.IGNORECASE)) for name, keys in REGIONS]


@dataclass(frozen=True, slots=True)
class FindingCheck:
    finding: str
    verdict: str  # "supported" | "contradicted" | "not mentioned"
    evidence: str | None  # the report sentence that decided it


@dataclass(frozen=True, slots=True)
class MinedChain:
    steps: tuple[str, ...]
    answer: str | None  # normal form ("A", "A,C") or free text for open questions
    raw: str
    checks: dict[str, tuple[FindingCheck, ...]]  # option letter -> its findings' checks


def report_sentences(report: str) -> list[str]:
    """Sentences of the findings and impression (other sections dropped), in order."""
    parts = _SECTION.split(report)
    if len(parts) > 1:  # [before, name, text, name, text, ...]
        keep = [text for name, text in zip(parts[1::2], parts[2::2], strict=False)
                if name.lower() in ("findings", "impression")]  # fmt: skip
        text = " ".join(keep) if keep else report
    else:
        text = report
    seg = Segmenter()
    seg.extend(text)
    seg.close()
    sentences: dict[str, str] = {}  # the impression often repeats a finding: keep it once
    for a, b in seg.spans:
        if sentence := _clean(text[a:b]):
            sentences.setdefault(sentence.lower(), sentence)
    return list(sentences.values())


def _clean(sentence: str) -> str:
    return re.sub(r"\s+", " ", sentence).strip().rstrip(".!?;:, ").strip()


def _stems(text: str) -> set[str]:
    for pattern, word in _SYNONYMS:
        text = pattern.sub(word, text)
    words = (
        w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
        for w in _WORD.findall(text.lower())
    )
    return {w[:6] for w in words if w not in STOPWORDS}


def region_of(sentence: str) -> str:
    for name, pattern in _REGION_RES:
        if pattern.search(sentence):
            return name
    return "Other"


def check_finding(finding: str, sentences: Sequence[str]) -> FindingCheck:
    """Is ``finding`` supported, contradicted or not mentioned by the report ``sentences``?"""
    want = _stems(finding)
    best, best_score = None, 0.0
    for sentence in sentences:
        for clause in re.split(r";|,? but |\. ", sentence):
            common = want & _stems(clause)
            score = len(common) / len(want) if common - ANATOMY else 0.0
            if score > best_score:
                best, best_score = clause.strip(), score
    if best is None or best_score < 0.5:
        return FindingCheck(finding, "not mentioned", None)
    negated = NEGATION.search(best) is not None
    return FindingCheck(finding, "contradicted" if negated else "supported", best)


def split_option(option: str) -> list[str]:
    return [p.strip() for p in re.split(r",|;|\band\b", option) if p.strip()]


def _lower_first(text: str) -> str:
    first = text.split(" ", 1)[0]
    return text if len(first) > 1 and first.isupper() else text[:1].lower() + text[1:]


def _observation_steps(sentences: Sequence[str]) -> list[str]:
    by_region: dict[str, list[str]] = {}
    for s in sentences:
        by_region.setdefault(region_of(s), []).append(s)
    steps = []
    for name in REGION_ORDER:
        if name in by_region:
            described = "; ".join(_lower_first(s) for s in by_region[name])
            steps.append(f"{name}: the report describes {described}.")
    return steps


def _option_step(letter: str, option: str, checks: Sequence[FindingCheck]) -> str:
    parts = []
    for c in checks:
        if c.verdict == "supported":
            parts.append(f'{c.finding} is supported ("{c.evidence}")')
        elif c.verdict == "contradicted":
            parts.append(f'{c.finding} is contradicted ("{c.evidence}")')
        else:
            parts.append(f"{c.finding} is not mentioned")
    return f"Option {letter} ({option}): " + "; ".join(parts) + "."


def _score(checks: Sequence[FindingCheck]) -> float:
    sup = sum(c.verdict == "supported" for c in checks)
    con = sum(c.verdict == "contradicted" for c in checks)
    return (sup - 2 * con) / max(len(checks), 1)


def _choose(task: Task, checks: dict[str, tuple[FindingCheck, ...]]) -> str | None:
    scores = {letter: _score(c) for letter, c in checks.items()}
    if not scores:
        return None
    if task.task_type is TaskType.multiple_choice:
        chosen = [k for k, s in scores.items() if s > 0]
        return normalize_letters(chosen) if chosen else max(scores, key=scores.get)
    return max(scores, key=scores.get)


def _binary_target(task: Task) -> str:
    q = re.sub(r"(?i)^\s*(is|are|does|do)\s+(there|the)\s+", "", task.question)
    return re.sub(r"(?i)\s*(in|on)\s+this\s+(chest\s+)?x-?ray\s*\??$|\?$", "", q).strip()


def mine_chain(report: str, task: Task, *, reference_answer: str | None = None) -> MinedChain:
    """The chain for ``task`` mined from ``report`` (see the module docstring)."""
    sentences = report_sentences(report)
    steps = _observation_steps(sentences)
    checks: dict[str, tuple[FindingCheck, ...]] = {}
    yes_no = [o.lower() for o in task.options] == ["yes", "no"]
    if yes_no:
        target = _binary_target(task)
        check = check_finding(target, sentences)
        checks = {"A": (check,), "B": (FindingCheck(target, "not mentioned", None),)}
        steps.append(_option_step("A", f"{target} present", (check,)))
        default = "A" if check.verdict == "supported" else "B"
    else:
        for i, option in enumerate(task.options):
            letter = chr(ord("A") + i)
            checks[letter] = tuple(check_finding(f, sentences) for f in split_option(option))
            steps.append(_option_step(letter, option, checks[letter]))
        default = _choose(task, checks)
    answer = reference_answer or default
    if task.options:
        steps.append(f"In conclusion, the report supports option {answer}, so the answer is {answer}.")
    else:
        positives = [s for s in sentences if not (NEGATION.search(s) or _NORMAL.search(s))]
        positives = positives or ["no abnormal finding"]
        answer = reference_answer or "; ".join(_lower_first(s) for s in positives)
        steps.append(f"In conclusion, the findings are {answer}.")
    raw = "<think> " + "\n".join(steps) + " </think><answer> " + (answer or "") + " </answer>"
    return MinedChain(tuple(parse_output(raw, options=task.options or None).steps), answer, raw, checks)
