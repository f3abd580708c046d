"""Where rows and images go inside an export folder, and writing each image once.

Contract: :class:`Layout` maps a kind, format and image mode to relative paths (the layouts are
in its docstring); :class:`ImagePlacer` turns a study into an
exported image (PNG or DICOM, via :mod:`exports.images`) and returns the reference a row
holds: a path relative to the rows file, or, for Parquet with PNG, the file name whose bytes
:meth:`ImagePlacer.embed` puts into the row. Each image is rendered and written once per folder
it lands in; file names are keyed hashes (no ids, no pixel hash).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from exports import ids
from exports.formats import ExportFormat, RowImages
from exports.images import export_dicom, export_png
from exports.kinds import KINDS, ExportKind
from exports.loading import StudyRef
from exports.writers import Files
from imaging import load_payload


class Layout:
    """Relative paths of an export's rows and images, for one kind, format and image mode.

    Rows that carry PNG images are laid out as the format asks (:class:`RowImages`):

    - ``imagefolder``: one ImageFolder per split, ``<split>/metadata<suffix>`` whose
      ``file_names`` column lists ``images/<name>.png`` beside it (``datasets`` loads it as an
      ``images`` column of PIL images);
    - ``embedded``: ``data/<split><suffix>`` with the PNG bytes inside (the ``datasets`` Image
      feature);
    - ``paths``, and DICOM images for every format: ``images/<name>`` and ``images`` columns of
      paths relative to the export folder.

    Text-only rows: ``data/<split><suffix>``; records: ``records/<table><suffix>``.
    """

    def __init__(self, kind: ExportKind, fmt: ExportFormat, mode: str) -> None:
        png_rows = KINDS[kind].images_in_rows and mode == "png"
        self.kind, self.format, self.mode = kind, fmt, mode
        self.imagefolder = png_rows and fmt.png_rows is RowImages.imagefolder
        self.embed = png_rows and fmt.png_rows is RowImages.embedded

    def rows_path(self, split: str) -> str:
        suffix = self.format.suffix
        return f"{split}/metadata{suffix}" if self.imagefolder else f"data/{split}{suffix}"

    def table_path(self, table: str) -> str:
        return f"records/{table}{self.format.suffix}"

    def image_path(self, split: str, name: str) -> str:
        return f"{split}/images/{name}" if self.imagefolder else f"images/{name}"

    def rename(self) -> dict[str, str]:
        # ImageFolder reads a "file_names" column and hands it back as "images".
        return {"images": "file_names"} if self.imagefolder else {}


class ImagePlacer:
    """Exports the images that rows refer to; remembers what it already wrote."""

    def __init__(
        self, files: Files, *, root: Path | None, key: bytes, mode: str, max_side: int, layout: Layout
    ) -> None:
        self.files, self.root, self.key, self.mode, self.max_side = files, root, key, mode, max_side
        self.layout = layout
        self.placed: dict[tuple[int, str], str] = {}
        self.page_bytes: dict[str, bytes] = {}  # Parquet + PNG: the current page's images
        self.png_fallbacks = 0
        self.missing = 0

    def place(self, studies: Sequence[Any], split: str) -> tuple[str, ...] | None:
        """References for ``studies`` (StudyRef-like) in ``split``; None when an image is missing."""
        refs = []
        for study in studies:
            ref = self._one(study, split if self.layout.imagefolder else "")
            if ref is None:
                return None
            refs.append(ref)
        return tuple(refs)

    def _one(self, study: Any, folder: str) -> str | None:
        key = (study.id, folder)
        if key in self.placed and not self.layout.embed:
            return self.placed[key]
        try:
            payload = load_payload(root=self.root, relative_path=study.stored_path)
        except (FileNotFoundError, ValueError):
            self.missing += 1
            return None
        name, data = self._render(study, payload)
        if self.layout.embed:
            self.page_bytes[name] = data
            return name
        self.files.add_bytes(self.layout.image_path(folder, name), data)
        ref = f"images/{name}"
        self.placed[key] = ref
        return ref

    def _render(self, study: Any, payload: bytes) -> tuple[str, bytes]:
        stem = ids.image_stem(self.key, study.image_sha256)
        if self.mode == "dicom" and study.source_format == "dicom":
            patient = ids.patient_pseudonym(self.key, study.patient)
            return f"{stem}.dcm", export_dicom(
                payload, key=self.key, patient_pseudonym=patient, seed=study.image_sha256
            )
        if self.mode == "dicom":
            self.png_fallbacks += 1
        return f"{stem}.png", export_png(payload, max_side=self.max_side)

    def embed(self, row: dict[str, Any]) -> dict[str, Any]:
        """``row`` with its image names replaced by ``{"bytes", "path"}`` (the datasets Image form)."""
        if "images" in row:
            row = {**row, "images": [{"bytes": self.page_bytes[n], "path": n} for n in row["images"]]}
        return row

    def end_page(self) -> None:
        self.page_bytes.clear()

    def record_image(
        self, study_id: int, patient: str, source_format: str, stored_path: str, image_sha256: str
    ) -> str | None:
        """The image path for a study of the records export, or None (no images, or missing)."""
        if self.mode == "none":
            return None
        study = StudyRef(
            id=study_id,
            patient=patient,
            stored_path=stored_path,
            source_format=source_format,
            image_sha256=image_sha256,
        )
        return self._one(study, "")
