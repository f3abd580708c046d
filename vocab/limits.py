"""Limits on what people type, shared by the store that enforces them and the pages that show them.

Contract: plain constants. The store refuses longer text; the review page renders the limit into
its fields (``maxlength``, the counters of the browser's editors), so both always agree.
"""

from __future__ import annotations

MAX_TEXT = 4000  # characters of one free text: a corrected or added step, a comment, a note
