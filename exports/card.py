"""The dataset card (README.md) and its YAML header, which tells ``datasets`` where the splits are.

Contract: pure functions from the manifest (a dict, see :mod:`exports.build`) to text.
The YAML header lists one config per records table, or the splits of a row kind, so that
``datasets.load_dataset(export_dir[, table])`` finds them with no further arguments.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from exports.ids import SPLIT_PURPOSE
from exports.kinds import KINDS, ExportKind

LICENCE_NOTE = (
    "Derived from de-identified chest radiographs and expert reviews held in a ChestX Review "
    "database. The images, reports and reviews remain under the terms of their sources (for "
    "example CC BY-NC-ND 4.0 for OpenI-derived material): check them before sharing this export "
    "outside the institution. Research use only; not for clinical decisions. Do not attempt to "
    "re-identify patients or reviewers."
)
SPLIT_METHOD = (
    "Splits are made by patient: a keyed hash of the patient's database pseudonym and the seed "
    "(not the export key) draws test first, then validation, so every export with the same seed "
    "puts a patient in the same split. Patients linked by a shared radiograph (one patient's image "
    "is a prior in another's case, e.g. the same image filed under two pseudonyms) form one "
    "group, and a group goes to the most held-out split any of its patients would get alone: no "
    "patient and no image is in two splits, and a patient once in test stays in test."
)


def yaml_header(manifest: dict[str, Any]) -> dict[str, Any]:
    # Why a description with the export's id: with configs in README.md, `datasets` keys its cache
    # by the configs alone, so a re-export (or a copy elsewhere) would load the first one's cache.
    description = f"ChestX Review {manifest['kind']} export {manifest['export_id']}"
    if KINDS[ExportKind(manifest["kind"])].tables:
        configs = [
            {
                "config_name": table,
                "description": description,
                "data_files": [{"split": "records", "path": path}],
            }
            for table, path in manifest["tables"].items()
            if manifest["counts"]["rows"].get(table)  # datasets cannot load an empty JSON file
        ]
        configs[0]["default"] = True
    else:
        configs = [
            {
                "config_name": "default",
                "description": description,
                "data_files": [
                    {"split": split, "path": info["data_files"]}
                    for split, info in manifest["splits"]["sizes"].items()
                    if info["rows"]
                ],
            }
        ]
    return {
        "configs": configs,
        "license": "other",
        "tags": ["chest-x-ray", "radiology", "process-supervision"],
    }


def _table(rows: list[tuple[Any, ...]], header: tuple[str, ...]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def render_card(manifest: dict[str, Any]) -> str:
    """README.md text: YAML header, what the rows are, counts, sources, reviewers, agreement, splits."""
    m = manifest
    parts = [
        "---\n" + yaml.safe_dump(yaml_header(m), sort_keys=False) + "---",
        f"# ChestX Review export: {m['kind']}",
        KINDS[ExportKind(m["kind"])].card,
        f"Snapshot `{m['snapshot_hash']}`, made {m['created_at']}"
        + (f", incremental since `{m['since']['snapshot_hash']}`." if m.get("since") else "."),
        "## Counts\n\n" + _table(sorted(m["counts"]["rows"].items()), ("part", "rows")),
    ]
    if m["counts"].get("skipped"):
        parts.append("Left out:\n\n" + _table(sorted(m["counts"]["skipped"].items()), ("reason", "chains")))
    parts.append(
        "## Sources\n\n"
        + "\n\n".join(
            _table(sorted(counts.items()), (name.replace("_", " ").rstrip("s"), "chains"))
            for name, counts in m["sources"].items()
        )
    )
    reviewers = m["reviewers"]
    text = f"## Reviewers\n\n{reviewers['count']} reviewers, named by keyed pseudonyms only."
    if reviewers.get("reviews"):
        text += "\n\n" + _table(sorted(reviewers["reviews"].items()), ("reviewer", "reviews"))
    parts.append(text)
    if m.get("agreement"):
        parts.append(
            f"## Agreement (policy: {m['policy']})\n\n"
            + _table(sorted(m["agreement"].items()), ("measure", "value"))
        )
    split = m["splits"]
    parts.append(
        f"## Splits\n\n{SPLIT_METHOD} Seed {split['seed']}, validation share {split['validation']}, "
        f"test share {split['test']}; {split.get('linked_units', 0)} patients share a split with "
        "another through an image.\n\n"
        + _table(
            [(name, info["rows"], SPLIT_PURPOSE[name]) for name, info in split["sizes"].items()],
            ("split", "rows", "use"),
        )
        + "\n\n**The test split is reserved for evaluation: never train on it.**"
    )
    parts.append(
        "## Filters\n\n```json\n"
        + _json(m["filters"])
        + "\n```\n\nImages: "
        + m["images"]
        + (
            f" ({m['counts']['png_instead_of_dicom']} studies without DICOM exported as PNG)"
            if m["counts"].get("png_instead_of_dicom")
            else ""
        )
        + (
            f"; {m['counts']['image_files_missing']} image files were missing from the store"
            if m["counts"].get("image_files_missing")
            else ""
        )
    )
    parts.append(f"## Licence\n\n{LICENCE_NOTE}")
    parts.append(
        f"## How it was made\n\n```\n{m['command']}\n```\n\nEvery file's sha256 is in `manifest.json`."
    )
    return "\n\n".join(parts) + "\n"


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)
