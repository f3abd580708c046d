"""Errors of the reasoner. Callers catch :class:`ReasonerError`; each message says what to do."""

from __future__ import annotations


class ReasonerError(Exception):
    """Base class of the reasoner's expected errors."""

    kind = "internal"


class ModelLoadError(ReasonerError):
    """A model, adapter or processor could not be loaded (bad path, missing files...)."""

    kind = "model"


class InputError(ReasonerError):
    """The request cannot be processed: wrong number of images, an image the processor rejects."""

    kind = "input"


class BackendError(ReasonerError):
    """A serving endpoint failed: ``kind`` is "connect", "timeout", "http" or "dropped"."""

    def __init__(self, message: str, kind: str = "http") -> None:
        super().__init__(message)
        self.kind = kind
