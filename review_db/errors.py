"""Errors the service layer raises on purpose.

Every expected failure (bad input, a conflict, a lock held by someone else) is a
:class:`ChestXError` with a message meant for a person; the CLI and the app show that message
and change nothing. Anything else is a bug and surfaces as one.
"""

from __future__ import annotations

import datetime as dt

from vocab.errors import ChestXError  # the base lives at the bottom; re-exported for callers here

__all__ = [
    "AlreadyRunning",
    "AuthenticationFailed",
    "CaseLocked",
    "ChestXError",
    "ConflictError",
    "NotFound",
    "PermissionDenied",
    "ReviewSubmitted",
    "SchemaOutOfDate",
    "ValidationError",
]


class NotFound(ChestXError):
    """A row the caller named does not exist."""


class ValidationError(ChestXError):
    """The caller's input is not acceptable; nothing was written."""


class PermissionDenied(ChestXError):
    """The actor's role does not allow this action."""


class AuthenticationFailed(ChestXError):
    """Unknown user, wrong password or an inactive account."""


class ConflictError(ChestXError):
    """Someone else changed the row first; nothing of this change was written."""


class CaseLocked(ChestXError):
    """The case is claimed by another reviewer whose lease has not expired."""

    def __init__(self, *, case_id: int, holder: str, expires_at: dt.datetime) -> None:
        self.case_id = case_id
        self.holder = holder
        self.expires_at = expires_at
        super().__init__(
            f"case {case_id} is being reviewed by {holder} until {expires_at:%Y-%m-%d %H:%M:%S} UTC"
        )


class ReviewSubmitted(ConflictError):
    """The reviewer has submitted their review of this chain; it changes only through an amendment."""

    def __init__(self, case_id: int) -> None:
        self.case_id = case_id
        super().__init__(
            f"you already submitted your review of case {case_id}; a submitted review is final: "
            "open it and choose 'Amend my review' to change it"
        )


class AlreadyRunning(ChestXError):
    """A job of which only one may run at a time is already running."""


class SchemaOutOfDate(ChestXError):
    """The database is not at the migrations' head and is not migrated automatically."""
