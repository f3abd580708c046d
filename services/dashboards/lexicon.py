"""Finding and anatomical-region labels for reasoning steps, from a small keyword lexicon.

Contract: :func:`labels` maps a step's text to the finding labels and the region labels it
mentions (possibly several of each; :data:`UNLABELLED` when it names none). Pure and fast: the
dashboards label every judged step, up to millions of them, so a text is split into words once
and each distinct word is looked up in a memo (a word matches a stem when it starts with it, the
way ``\\b`` + stem matches in a regex); the few multi-word terms are plain substring checks.

Why not the RadRScore judge's extractor (``reasoner.radrscore.extract``): it parses clauses,
negation and laterality with dozens of regular expressions, which is right for scoring a chain
and about a hundred times too slow for labelling a million steps on a dashboard. The region
names follow ``reasoner.radrscore.lexicon.REGIONS`` so that both speak the same words. A negated
mention ("no pleural effusion") still carries the label: the chart asks where reviewers disagree
with the model, and a wrong "no effusion" is an effusion step.
"""

from __future__ import annotations

import re
from functools import lru_cache

UNLABELLED = "(none named)"

# label -> (word stems, multi-word phrases); a word matches a stem when it starts with it.
FINDINGS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "pleural effusion": (("effusion",), ()),
    "pneumothorax": (("pneumothora", "hydropneumothora"), ()),
    "cardiomegaly / heart size": (("cardiomegal",), ("cardiac silhouette", "heart size", "enlarged heart")),
    "consolidation / pneumonia": (("consolidat", "pneumonia"), ("airspace disease", "air space disease")),
    "opacity": (("opacit", "opacific"), ()),
    "atelectasis": (("atelecta",), ()),
    "edema / congestion": (("edema", "oedema", "congesti", "vascularity"), ()),
    "nodule / mass": (("nodul", "mass", "lesion", "tumor", "tumour", "granulom"), ()),
    "fracture": (("fractur",), ()),
    "emphysema / hyperinflation": (("emphysem", "hyperinfla", "hyperexpan", "bulla"), ()),
    "lymphadenopathy": (("lymphadenopath", "adenopath"), ("lymph node",)),
    "support devices": (
        ("catheter", "tube", "pacemaker", "pacer", "sternotomy", "wire", "device", "picc", "stent"),
        (),
    ),
    "degenerative / bone": (("degenerat", "osteo", "scolio", "spondyl", "kyphos"), ()),
    "answer / conclusion": (("answer", "option", "conclu"), ()),
}

# Most specific first, as in reasoner.radrscore.lexicon.REGIONS.
REGIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "costophrenic angle": (("costophrenic",), ("cp angle",)),
    "lung apex": (("apex", "apices", "apical", "biapical"), ()),
    "lung base": (("base", "bases", "basilar", "basal", "bibasilar", "bibasal"), ()),
    "upper lobe": ((), ("upper lobe", "upper lung")),
    "middle lobe / lingula": (("lingula",), ("middle lobe",)),
    "lower lobe": ((), ("lower lobe", "lower lung")),
    "hilum": (("hilum", "hila", "hilar", "perihilar"), ()),
    "diaphragm": (("diaphragm", "hemidiaphragm"), ()),
    "pleura": (("pleura",), ()),
    "heart": (("heart", "cardiac", "cardio", "pericardi"), ()),
    "mediastinum": (("mediastin", "trachea", "carina"), ()),
    "aorta": (("aort",), ()),
    "bones": (("rib", "ribs", "clavic", "spine", "spinal", "vertebra", "sternum", "osseous", "bone"), ()),
    "lung (unspecified)": (("lung", "pulmonary", "parenchym"), ()),
}

# Stems that must match the whole word (or its plural): "rib" not "ribbon", "base" not "baseline".
_WHOLE_WORDS = frozenset({"rib", "ribs", "base", "bases", "hila", "mass", "tube", "wire", "bone", "pacer"})
_WORD = re.compile(r"[a-z]+")
_FINDING_NAMES = tuple(FINDINGS)
_REGION_NAMES = tuple(REGIONS)


def _stems(lexicon: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]) -> list[tuple[str, int]]:
    return [(stem, 1 << i) for i, (stems, _) in enumerate(lexicon.values()) for stem in stems]


def _phrases(lexicon: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]) -> list[tuple[str, int]]:
    return [(p, 1 << i) for i, (_, phrases) in enumerate(lexicon.values()) for p in phrases]


_FINDING_STEMS, _REGION_STEMS = _stems(FINDINGS), _stems(REGIONS)
_FINDING_PHRASES, _REGION_PHRASES = _phrases(FINDINGS), _phrases(REGIONS)


def _matches(word: str, stem: str) -> bool:
    if stem in _WHOLE_WORDS:
        return word == stem or word in (stem + "s", stem + "es")
    return word.startswith(stem)


@lru_cache(maxsize=200_000)
def _word_bits(word: str) -> tuple[int, int]:
    """Bit masks (findings, regions) of the labels one word carries; memoised per word."""
    findings = sum({bit for stem, bit in _FINDING_STEMS if _matches(word, stem)})
    regions = sum({bit for stem, bit in _REGION_STEMS if _matches(word, stem)})
    return findings, regions


@lru_cache(maxsize=4096)
def _names(mask: int, names: tuple[str, ...]) -> tuple[str, ...]:
    found = tuple(sorted(name for i, name in enumerate(names) if mask >> i & 1))
    return found or (UNLABELLED,)


def labels(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(finding labels, region labels) of a step text, each sorted; ``(UNLABELLED,)`` when none."""
    lowered = text.lower()
    findings = regions = 0
    for word in _WORD.findall(lowered):
        f, r = _word_bits(word)
        findings |= f
        regions |= r
    for phrase, bit in _FINDING_PHRASES:
        if phrase in lowered:
            findings |= bit
    for phrase, bit in _REGION_PHRASES:
        if phrase in lowered:
            regions |= bit
    return _names(findings, _FINDING_NAMES), _names(regions, _REGION_NAMES)
