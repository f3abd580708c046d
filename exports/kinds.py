"""Export kinds and image modes: the vocabulary of ``chestx export KIND`` and its one registry.

Contract: :data:`KINDS` holds, for each :class:`ExportKind`, what differs between kinds outside
the row builders (:mod:`exports.rows`) and the Parquet features (:mod:`exports.schemas`): the
export page's label, the dataset card's paragraph, the default image mode, whether rows carry
images, and how one consolidated chain becomes rows (``rows``; None for ``records``, which writes
tables). Name lists, labels, defaults and help texts elsewhere (the CLI, the export page, the card,
plan validation) are derived from it.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from exports import rows as row_builders
from exports.rows import VerifiedChain


class ExportKind(enum.StrEnum):
    sft = "sft"
    prm = "prm"
    pairs = "pairs"
    records = "records"


class ImageMode(enum.StrEnum):
    png = "png"
    dicom = "dicom"
    none = "none"


Rows = list[dict[str, Any]] | str  # a chain's rows, or why it gives none (counted in the card)
RowBuilder = Callable[..., Rows]  # (chain, *, with_images, system_prompt)


@dataclass(frozen=True)
class KindSpec:
    title: str  # "SFT": the kind in a sentence
    summary: str  # what the rows are for, in a few words
    card: str  # the dataset card's paragraph
    default_images: ImageMode
    rows: RowBuilder | None = None  # None: the kind writes tables (records), not rows
    images_in_rows: bool = False  # rows carry the case's images (png or dicom)

    @property
    def label(self) -> str:
        return f"{self.title}: {self.summary}"

    @property
    def tables(self) -> bool:
        return self.rows is None


def _sft(chain: VerifiedChain, *, with_images: bool, system_prompt: str | None) -> Rows:
    if not chain.verified_steps:
        return "no verified step"
    return [row_builders.sft_row(chain, with_images=with_images, system_prompt=system_prompt)]


def _prm(chain: VerifiedChain, *, with_images: bool, system_prompt: str | None) -> Rows:
    return row_builders.prm_rows(chain) or "no steps"


def _pairs(chain: VerifiedChain, *, with_images: bool, system_prompt: str | None) -> Rows:
    pair = row_builders.pair_row(chain, with_images=with_images, system_prompt=system_prompt)
    return [pair] if pair is not None else "review changed nothing (no preference)"


KINDS: dict[ExportKind, KindSpec] = {
    ExportKind.sft: KindSpec(
        title="SFT",
        summary="verified chains for fine-tuning",
        card="TRL vision conversational rows (`images`, `messages`): the verified chain inside "
        "`<think>` and the verified answer inside `<answer>`; for `SFTTrainer`.",
        default_images=ImageMode.png,
        rows=_sft,
        images_in_rows=True,
    ),
    ExportKind.prm: KindSpec(
        title="PRM",
        summary="step labels for a process reward model",
        card="TRL stepwise-supervision rows (`prompt`, `completions`, `labels`): the model's original "
        "steps labelled true where the reviewers accepted them, plus the verified chain as an all-true "
        "row (`source` = `verified`); for `trl.experimental.prm.PRMTrainer`.",
        default_images=ImageMode.none,
        rows=_prm,
    ),
    ExportKind.pairs: KindSpec(
        title="Preference pairs",
        summary="verified vs. original chain",
        card="TRL conversational preference rows (`prompt`, `chosen` = the verified chain, "
        "`rejected` = the model's original); for `DPOTrainer`.",
        default_images=ImageMode.png,
        rows=_pairs,
        images_in_rows=True,
    ),
    ExportKind.records: KindSpec(
        title="Records",
        summary="every case, step, verdict and review",
        card="Every selected case, study, chain, step, verdict and review, with reviewer "
        "pseudonyms and timestamps: enough to rebuild the other kinds. The effective verdict of a "
        "reviewer on a step is the one with the highest `id` for that (`step_id`, `reviewer`).",
        default_images=ImageMode.png,
    ),
}
DEFAULT_IMAGES = {kind: spec.default_images for kind, spec in KINDS.items()}


def usual_images() -> tuple[ImageMode, dict[ExportKind, ImageMode]]:
    """The image mode most kinds default to, and the kinds that default to another."""
    usual = Counter(DEFAULT_IMAGES.values()).most_common(1)[0][0]
    return usual, {kind: mode for kind, mode in DEFAULT_IMAGES.items() if mode is not usual}


def default_images_text() -> str:
    """The default image modes in words: ``png; none for prm``."""
    usual, others = usual_images()
    return "; ".join([usual.value, *(f"{mode} for {kind}" for kind, mode in others.items())])
