"""Roles: what a user of the app may do.

Contract: :class:`Role` is the stored value; ``label`` is how a person sees it.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    reviewer = "reviewer"
    educator = "educator"
    researcher = "researcher"
    admin = "admin"

    @property
    def label(self) -> str:
        return self.value.capitalize()
