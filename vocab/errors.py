"""The base class of every error meant to be shown to a person.

Contract: an expected failure anywhere in the project (bad input, a conflict, an image refused) is
a :class:`ChestXError` whose message is written for the user; the CLI and the app show that
message and change nothing. It lives at the bottom so that every package (imaging, the database,
the services) can raise it without importing one another.
"""

from __future__ import annotations


class ChestXError(Exception):
    """Base class of the errors meant to be shown to a user."""
