"""The image viewer's markup: the stage, the window presets and the tools.

Contract: :func:`viewer_html` is pure. The markup names only the case id and fixed preset names;
the browser fetches pixels from the authorised ``/img/{case_id}`` route (never a file path) and
``static/viewer.js`` does zoom, pan and window/level dragging on the client.
"""

from __future__ import annotations

import json

from chestx.web.html import esc
from services.screens import StudyFacts

NO_IMAGE = (
    '<div class="cx-viewer cx-noimage"><p>No image for this case: review it against the report.</p></div>'
)
PRESET_ORDER = (
    ("default", "Default"),
    ("lung", "Lung"),
    ("mediastinum", "Mediastinum"),
    ("bone", "Bone"),
    ("full", "Full range"),
)


def _presets(study: StudyFacts) -> dict[str, list[float]]:
    out = {}
    for name, value in (study.window_presets or {}).items():
        try:
            center, width = (float(v) for v in value)
        except (TypeError, ValueError):
            continue
        out[str(name)] = [center, width]
    return out


def viewer_html(case_id: int | None, study: StudyFacts | None, prior: StudyFacts | None = None) -> str:
    """The viewer for a case's image (and prior, for comparisons); a placeholder without one."""
    if case_id is None or study is None:
        return NO_IMAGE
    presets = _presets(study)
    buttons = []
    for index, (name, label) in enumerate(PRESET_ORDER, start=1):
        if name == "default" or name in presets:
            pressed = "true" if name == "default" else "false"
            buttons.append(
                f'<button type="button" data-preset="{name}" aria-pressed="{pressed}" '
                f'title="{label} ({index})">{label}<kbd>{index}</kbd></button>'
            )
    which = ""
    if prior is not None:
        which = (
            '<div class="cx-seg" role="group" aria-label="Study">'
            '<button type="button" data-which="current" aria-pressed="true">Current</button>'
            '<button type="button" data-which="prior" aria-pressed="false">Prior</button></div>'
        )
    prior_presets = esc(json.dumps(_presets(prior))) if prior is not None else "{}"
    return (
        f'<div class="cx-viewer" data-case="{int(case_id)}" data-presets="{esc(json.dumps(presets))}"'
        f' data-prior-presets="{prior_presets}" data-photometric="{esc(study.photometric or "")}">'
        f'<div class="cx-vtools">{which}<div class="cx-seg" role="group" aria-label="Window presets">'
        f"{''.join(buttons)}</div>"
        '<div class="cx-seg" role="group" aria-label="Zoom">'
        '<button type="button" data-zoom="out" title="Zoom out (-)">−</button>'
        '<button type="button" data-zoom="fit" title="Fit to view (0)">Fit<kbd>0</kbd></button>'
        '<button type="button" data-zoom="in" title="Zoom in (+)">+</button></div>'
        '<span class="cx-wl" aria-live="polite"></span></div>'
        f'<div class="cx-stage" tabindex="0" aria-label="Chest radiograph of case {int(case_id)}">'
        f'<img class="cx-img" alt="Chest radiograph, case {int(case_id)}" draggable="false"'
        f' src="/img/{int(case_id)}?preset=default&amp;max=1024&amp;fmt=jpeg"></div>'
        '<div class="cx-vhelp">Wheel or +/−: zoom · drag: pan · Shift+drag or right-drag: window/level ·'
        " double-click: fit</div></div>"
    )
