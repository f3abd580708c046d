"""Opening a trained process reward model of either kind.

Contract: :func:`load_scorer` reads the kind a trained PRM folder names
(:func:`training.prm.read_marker`) and loads it as a :class:`~training.prm.StepScorer`: the text
PRM (:class:`training.prm_text.TextPRM`) or the token-classification one
(:class:`training.prm_trl.TokenPRM`). Its own module, apart from :mod:`training.prm`, because
the two implementations import that interface: the loader sits above both.
"""

from __future__ import annotations

from pathlib import Path

from training.prm import StepScorer, read_marker


def load_scorer(path: Path | str, *, device: str = "cpu") -> StepScorer:
    """The trained PRM in ``path``, of whichever kind it is."""
    kind = read_marker(path)["kind"]
    if kind == "text":
        from training.prm_text import TextPRM  # lazy: imports transformers

        return TextPRM.load(path, device=device)
    if kind == "trl":
        from training.prm_trl import TokenPRM  # lazy: imports trl.experimental

        return TokenPRM.load(path, device=device)
    raise ValueError(f"unknown PRM kind {kind!r} in {path}")
