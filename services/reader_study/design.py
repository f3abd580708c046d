"""A reader study's design: its arms and the crossover randomization. Pure, seeded, reproducible.

Contract: :func:`randomize` gives every reader every case once per period, for as many periods as
there are arms, and assigns the arms by Williams Latin squares:

- each (reader, case) is read once under every arm, one arm per period (a full crossover);
- within a period, each reader's cases are spread over the arms as evenly as possible (exactly
  when the number of cases is a multiple of the number of arms), and so is each case over the
  readers (exactly when the number of readers is a multiple of the number of arms);
- the order of arms over the periods is a row of a Williams design, so each arm follows each
  other arm equally often (first-order carry-over balanced when the number of readers is a
  multiple of the number of arms, or of twice it for an odd number of arms);
- each reader's reads within a period come in a fresh random order.

The same readers, cases, arm count and seed give the same assignments, whatever order they
are passed in (ids are sorted first). The arms a study can have (:class:`Shows`) and the marks a
reader can put on a step (:class:`StepMark`) are defined here, once.
"""

from __future__ import annotations

import enum
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from review_db.errors import ValidationError

METHOD = "williams-crossover-v1"  # named in design.json, so a re-analysis knows the scheme
MIN_ARMS, MAX_ARMS = 2, 6


class DesignError(ValidationError):
    """The study's design is not acceptable; nothing was written."""


class Shows(enum.StrEnum):
    """What of the model an arm shows the reader (everything else is never sent to the browser)."""

    none = "none"
    answer = "answer"
    reasoning = "reasoning"

    @property
    def label(self) -> str:
        return _SHOWS_LABELS[self]

    @property
    def answer_shown(self) -> bool:
        return self is not Shows.none

    @property
    def steps_shown(self) -> bool:
        return self is Shows.reasoning


_SHOWS_LABELS = {
    Shows.none: "nothing of the model",
    Shows.answer: "the model's answer",
    Shows.reasoning: "the model's answer and its reasoning, step by step",
}


class StepMark(enum.StrEnum):
    """What a reader may say of a step in the reasoning arm."""

    helpful = "helpful"
    wrong = "wrong"

    @property
    def label(self) -> str:
        return {"helpful": "Helped me", "wrong": "Wrong"}[self.value]


@dataclass(frozen=True)
class Arm:
    key: str  # a slug, unique in the study: stored on each assignment
    label: str
    shows: Shows

    def as_dict(self) -> dict[str, str]:
        return {"key": self.key, "label": self.label, "shows": self.shows.value}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Arm:
        return cls(key=str(data["key"]), label=str(data["label"]), shows=Shows(data["shows"]))


STANDARD_ARMS: tuple[Arm, ...] = (
    Arm("no_ai", "No AI", Shows.none),
    Arm("answer_only", "Answer only", Shows.answer),
    Arm("answer_reasoning", "Answer + reasoning", Shows.reasoning),
)


def slug(label: str) -> str:
    """'Answer + reasoning' -> 'answer_reasoning'."""
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:64]


def check_arms(arms: Sequence[Arm]) -> tuple[Arm, ...]:
    """The arms, if a study can have them: 2 to 6, distinct keys and labels."""
    if not MIN_ARMS <= len(arms) <= MAX_ARMS:
        raise DesignError(f"a study needs {MIN_ARMS} to {MAX_ARMS} arms, not {len(arms)}")
    keys = [a.key for a in arms]
    if any(not k for k in keys) or len(set(keys)) != len(keys):
        raise DesignError(f"each arm needs its own name: {', '.join(a.label for a in arms)}")
    return tuple(arms)


def parse_arms(spec: str) -> tuple[Arm, ...]:
    """Arms from text, comma-separated: a standard arm's key (``no_ai``, ``answer_only``,
    ``answer_reasoning``) or ``label=shows`` (``No AI=none, Answer + reasoning=reasoning``)."""
    standard = {a.key: a for a in STANDARD_ARMS}
    arms = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        if "=" not in part:
            if part not in standard:
                raise DesignError(f"unknown arm {part!r}: one of {', '.join(standard)} or LABEL=SHOWS")
            arms.append(standard[part])
            continue
        label, shows = (x.strip() for x in part.rsplit("=", 1))
        if shows not in Shows.__members__:
            raise DesignError(f"arm {label!r} shows {shows!r}: one of {', '.join(Shows.__members__)}")
        arms.append(Arm(slug(label), label, Shows(shows)))
    return check_arms(arms)


@dataclass(frozen=True)
class Slot:
    """One read to do: ``reader_id`` reads ``case_id`` in ``period`` at place ``sequence``, under ``arm``."""

    reader_id: int
    case_id: int
    period: int
    sequence: int
    arm: str


def williams(n: int) -> tuple[tuple[tuple[int, ...], ...], ...]:
    """Williams design for ``n`` treatments: one Latin square (``n`` even) or two (``n`` odd), whose
    rows together have every ordered pair of distinct treatments adjacent equally often."""
    base = [0]
    for k in range(1, n):
        base.append((k + 1) // 2 if k % 2 else n - k // 2)
    square = tuple(tuple((x + i) % n for x in base) for i in range(n))
    if n % 2 == 0:
        return (square,)
    return (square, tuple(tuple(reversed(row)) for row in square))


def randomize(*, readers: Iterable[int], cases: Iterable[int], arms: Sequence[Arm], seed: int) -> list[Slot]:
    """The assignments of a study (see the module docstring), sorted by reader, period and place."""
    arms = check_arms(arms)
    reader_ids, case_ids = sorted(set(readers)), sorted(set(cases))
    if not reader_ids or not case_ids:
        raise DesignError("a study needs at least one reader and one case")
    n = len(arms)
    squares = williams(n)
    rng = random.Random(seed)
    rng.shuffle(case_ids)
    rng.shuffle(reader_ids)
    group = {case: i % n for i, case in enumerate(case_ids)}
    slots = []
    for j, reader in enumerate(reader_ids):
        square, offset = squares[(j // n) % len(squares)], j % n
        for period in range(n):
            order = list(case_ids)
            rng.shuffle(order)
            for place, case in enumerate(order):
                arm = arms[square[(group[case] + offset) % n][period]]
                slots.append(Slot(reader, case, period, place, arm.key))
    return sorted(slots, key=lambda s: (s.reader_id, s.period, s.sequence))
