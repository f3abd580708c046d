"""The RadRScore judge interface.

A judge reads samples and returns one :class:`~reasoner.radrscore.types.Judgement` per sample,
in order. It never raises for one bad sample: an empty chain, a reference without findings or a
failing endpoint gives a judgement whose counts are None or zero and whose ``flags`` say why.
Judges take a batch so that an implementation can share work across samples (the offline judge
embeds all phrases of a batch at once; the LLM judge can run requests concurrently).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from reasoner.radrscore.types import Judgement, Sample


@runtime_checkable
class Judge(Protocol):
    """Turns samples into judgements (findings extracted, recalled, supported; steps effective)."""

    name: str

    def judge(self, samples: Sequence[Sample]) -> list[Judgement]:
        """One judgement per sample, in order; never raises for a single bad sample."""
        ...
