"""Export pseudonyms and train / validation / test splits.

Contract: pure functions. Export pseudonyms are keyed HMACs (the imaging layer's
:func:`~imaging.deid.keyed_hex`) of database ids or database pseudonyms under the
export key: stable for one key, unlinkable across keys, and never a username.

Splits are by patient so that no patient is in two splits. They are keyed by the DATABASE patient
pseudonym and the seed only, not by the export key, so that every export made with the same seed
puts a patient in the same split: the test split stays unseen by training across incremental
exports. The test split is drawn first, so changing the validation share never moves a patient
into or out of test.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from imaging.deid import keyed_hex

SPLITS = ("train", "validation", "test")
# What each split may be used for; written into the manifest and the dataset card.
SPLIT_PURPOSE = {
    "train": "training",
    "validation": "model selection during training (never a gradient step)",
    "test": "held-out evaluation only: never train on it",
}


def reviewer_pseudonym(key: bytes, user_id: int) -> str:
    """``R-`` + 16 hex of a keyed HMAC of the user's id (never the username)."""
    return f"R-{keyed_hex(key, 'export-reviewer', str(user_id))[:16]}"


def patient_pseudonym(key: bytes, group: str) -> str:
    """``P-`` + 16 hex: the export pseudonym of a database patient pseudonym (or a case group)."""
    return f"P-{keyed_hex(key, 'export-patient', group)[:16]}"


def study_pseudonym(key: bytes, study: str) -> str:
    """``S-`` + 16 hex: the export pseudonym of a database study pseudonym."""
    return f"S-{keyed_hex(key, 'export-study', study)[:16]}"


def image_stem(key: bytes, image_sha256: str) -> str:
    """The file name (without suffix) of an exported image: no database id, no pixel hash."""
    return keyed_hex(key, "export-image", image_sha256)[:24]


class Keyed:
    """:func:`~imaging.deid.keyed_hex` for one key and purpose, cached, through the
    one-call C path of :func:`hmac.digest` (an export computes one per study and patient)."""

    def __init__(self, key: bytes, purpose: str) -> None:
        self._key, self._prefix = key, purpose.encode() + b"\x00"
        self._cache: dict[str, str] = {}

    def __call__(self, value: str) -> str:
        found = self._cache.get(value)
        if found is None:
            message = self._prefix + value.encode("utf-8", "surrogateescape")
            found = self._cache[value] = hmac.digest(self._key, message, "sha256").hex()
        return found


class Pseudonyms:
    """The export pseudonyms of one key, cached (the same values as the functions above)."""

    def __init__(self, key: bytes) -> None:
        self._patient = Keyed(key, "export-patient")
        self._study = Keyed(key, "export-study")
        self._reviewer = Keyed(key, "export-reviewer")
        self._reviewers: dict[int, str] = {}

    def patient(self, group: str) -> str:
        return f"P-{self._patient(group)[:16]}"

    def study(self, study: str) -> str:
        return f"S-{self._study(study)[:16]}"

    def reviewer(self, user_id: int) -> str:
        found = self._reviewers.get(user_id)
        if found is None:
            found = self._reviewers[user_id] = f"R-{self._reviewer(str(user_id))[:16]}"
        return found


def patient_group(patient: str | None, case_id: int) -> str:
    """The split unit: the patient, or the case itself when it has no image (no known patient)."""
    return patient or f"case:{case_id}"


@dataclass(frozen=True, slots=True)
class SplitSpec:
    """Seeded patient-level split shares (the rest is train)."""

    seed: int = 0
    validation: float = 0.1
    test: float = 0.1

    def __post_init__(self) -> None:
        if self.validation < 0 or self.test < 0 or self.validation + self.test >= 1:
            raise ValueError("validation and test shares must be >= 0 and sum to less than 1")

    def assign(self, group: str) -> str:
        """``train``, ``validation`` or ``test`` for a patient group, deterministically."""
        digest = hashlib.sha256(f"chestx-split\x00{self.seed}\x00{group}".encode()).digest()
        u = int.from_bytes(digest[:8], "big") / 2**64
        if u < self.test:
            return "test"
        if u < self.test + self.validation:
            return "validation"
        return "train"
