"""The vocabulary the browser's scripts read, as plain JSON-ready data.

Contract: :func:`for_browser` is pure. ``chestx.web.common`` renders it into every page's head as
``<script type="application/json" id="cx-vocab">``; ``static/chain.js`` takes the verdicts' keys,
labels and editors from it, ``static/help.js`` the keyboard help. The scripts keep no copy.
"""

from __future__ import annotations

from typing import Any

from vocab.keys import NEXT_STEP, PREVIOUS_STEP, STEP_ACTIONS, help_rows
from vocab.limits import MAX_TEXT
from vocab.verdicts import AnswerVerdict, Verdict


def for_browser() -> dict[str, Any]:
    """Verdicts, answer verdicts, step actions, navigation keys, the help rows and the text limit."""
    return {
        "verdicts": [
            {
                "value": v.value,
                "label": v.facts.label,
                "done": v.facts.done,
                "key": v.facts.key,
                "css": v.facts.css,
                "effect": v.facts.effect.value,
                "prompt": v.facts.prompt,
            }
            for v in Verdict
        ],
        "answers": [{"value": a.value, "label": a.facts.label, "key": a.facts.key} for a in AnswerVerdict],
        "actions": [
            {"value": a.value, "label": a.label, "key": a.key, "prompt": a.prompt} for a in STEP_ACTIONS
        ],
        "navigation": {"next": NEXT_STEP, "previous": PREVIOUS_STEP},
        "help": [list(row) for row in help_rows()],
        "max_text": MAX_TEXT,
    }
