"""Imports of images: where they come from, how a run stands, and what became of each item.

Contract: the enums are the stored values (the ``imports`` table) and ``label`` is how a person
sees them (the admin page, the CLI's summary). :class:`Outcome` is what one file or DICOM instance
came to; an import counts each outcome.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping


class ImportKind(enum.StrEnum):
    files = "files"  # chestx import images
    dicomweb = "dicomweb"  # chestx import dicomweb: QIDO-RS query, WADO-RS retrieval
    receiver = "receiver"  # chestx receive: one row per association of a sending AE

    @property
    def label(self) -> str:
        return IMPORT_KIND_LABELS[self]


IMPORT_KIND_LABELS: Mapping[ImportKind, str] = {
    ImportKind.files: "files",
    ImportKind.dicomweb: "DICOMweb",
    ImportKind.receiver: "DICOM receiver",
}


class ImportStatus(enum.StrEnum):
    running = "running"
    done = "done"  # finished; some items may have been skipped or rejected
    failed = "failed"  # stopped early (the PACS unreachable, an association aborted, ...)

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Outcome(enum.StrEnum):
    imported = "imported"  # a new study
    recognised = "recognised"  # already here (the same instance, or the same pixels)
    skipped = "skipped"  # not a chest radiograph this import wants (modality, body part)
    rejected = "rejected"  # could not be imported (corrupt, too large, cannot be de-identified)

    @property
    def label(self) -> str:
        return self.value
