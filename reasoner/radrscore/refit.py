"""Refitting the offline judge's shipped parameters: ``chestx eval fit-judge DATA_DIR...``.

:func:`judged_files` finds the evaluation files that carry GPT-4o's verdicts; :func:`fit_judge`
fits the judge on every item of them (:func:`reasoner.radrscore.fit.fit_params`; its models
averaged by default) and adds the provenance block (command, files with sha256 and item counts, date, git
commit); :func:`write_params` writes the JSON (numbers and feature names only, no text).
"""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reasoner.radrscore.embedding import PhraseEmbedder
from reasoner.radrscore.evalfile import read_items
from reasoner.radrscore.fit import fit_params, training_data


def git_commit(cwd: str | Path | None = None) -> str | None:
    """The checkout's commit (with "+dirty" when the judge's code differs from it), or None
    outside a git checkout. The parameters' own directory is not code: it does not count."""
    here = Path(__file__).parent

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd or here, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        changed = git("status", "--porcelain", "--", str(here), f":(exclude){here / 'params'}")
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if changed else "")


def fit_judge(
    paths: Sequence[str | Path],
    *,
    command: str,
    embedder: PhraseEmbedder | None = None,
    progress: Callable[[str], None] | None = None,
    combine: str = "average",
) -> dict[str, Any]:
    """The offline judge's parameters fitted on every item of ``paths``, with their provenance."""
    data = training_data(paths, embedder=embedder, progress=progress)
    params = fit_params(data, np.ones(data.n_items, dtype=bool), combine=combine)
    params["provenance"] = {
        "command": command,
        "data": data.files,
        "date": datetime.date.today().isoformat(),
        "git_commit": git_commit(),
        "units": {
            "reference": int(len(data.reference.item)),
            "model": int(len(data.model.item)),
        },
        "note": "GPT-4o's verdicts (the paper's judge) in the files above; no text of them is stored here",
    }
    return params


def judged_files(paths: Iterable[str | Path]) -> list[Path]:
    """The evaluation files under ``paths`` (files, or directories searched for ``*.json`` and
    ``*.jsonl``, sorted) whose first item carries GPT-4o's verdicts (``gt_key_finding``)."""
    out = []
    for path in map(Path, paths):
        candidates = sorted([*path.glob("*.json"), *path.glob("*.jsonl")]) if path.is_dir() else [path]
        for candidate in candidates:
            try:
                items = read_items(candidate)
            except (ValueError, UnicodeDecodeError):
                continue
            if items and "gt_key_finding" in items[0]:
                out.append(candidate)
    return out


def write_params(params: Mapping[str, Any], out: str | Path) -> None:
    """Write the parameters' JSON atomically: objects indented, number arrays on one line."""
    text = json.dumps(params, indent=1)
    text = re.sub(
        r"\[\s*((?:-?[0-9.eE+-]+,\s*)*-?[0-9.eE+-]+)\s*\]",
        lambda m: "[" + ",".join(m.group(1).split()).replace(",,", ",") + "]",
        text,
    )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.write_text(text + "\n", encoding="utf-8")
    os.replace(partial, out)
