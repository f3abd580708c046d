"""Word-level diffs of a reviewer's correction against the model's text, as safe HTML.

Contract: :func:`word_diff` is pure; every token is escaped before it is wrapped in ``<del>`` or
``<ins>``, so neither text can inject markup.
"""

from __future__ import annotations

import difflib
import re

from chestx.web.html import esc

# A word or one punctuation mark, with the whitespace after it (leading whitespace on its own).
_TOKENS = re.compile(r"^\s+|\w+\s*|[^\w\s]\s*")


def tokens(text: str) -> list[str]:
    """Words and punctuation marks with their trailing whitespace (joined, they give ``text``)."""
    return _TOKENS.findall(text or "")


def word_diff(before: str, after: str) -> str:
    """HTML showing ``before`` turned into ``after``: removed words struck out, new words marked.

    Tokens are compared without their whitespace, so a changed space never shows as a change.
    """
    a, b = tokens(before), tokens(after)
    keys_a, keys_b = [t.strip() for t in a], [t.strip() for t in b]
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=keys_a, b=keys_b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(esc("".join(b[j1:j2])))
            continue
        if op in ("delete", "replace"):
            out.append(f"<del>{esc(''.join(a[i1:i2]))}</del>")
        if op in ("insert", "replace"):
            out.append(f"<ins>{esc(''.join(b[j1:j2]))}</ins>")
    return f'<span class="cx-diff">{"".join(out)}</span>'
