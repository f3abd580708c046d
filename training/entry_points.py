"""The training entry points by name, and checking a stage's arguments before a run is recorded.

Contract: :data:`ENTRY_POINTS` names the entry points (``sft``, ``rl``, ``prm:text``,
``prm:trl``; :data:`PRM_KINDS` are the process reward model's kinds), each a module with
``main(...)`` and ``make_parser()``. :func:`entry_point` imports one on demand: each pulls in TRL
or transformers, seconds of import that the CLI's other commands and the web app do not pay.
:func:`check_args` parses a stage's arguments (its YAML keys) with the entry point's own parser
and raises :class:`~review_db.errors.ValidationError` naming what is wrong, so a bad config is
refused before a run is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

from review_db.errors import ValidationError
from training.arguments import parse_config

PRM_KINDS = ("text", "trl")  # text: MiniLM features + logistic head (CPU); trl: PRMTrainer
ENTRY_POINTS = ("sft", "rl", *(f"prm:{kind}" for kind in PRM_KINDS))


def entry_name(stage: str, *, prm_kind: str = "text") -> str:
    """The entry point of a stage run: ``sft`` and ``rl`` are their own, ``prm`` has a kind."""
    return f"prm:{prm_kind}" if stage == "prm" else stage


def entry_point(name: str) -> ModuleType:
    """The module of entry point ``name`` (see :data:`ENTRY_POINTS`)."""
    if name == "sft":
        from training import sft as module  # lazy: imports trl
    elif name == "rl":
        from training import grpo as module  # lazy: imports trl
    elif name == "prm:text":
        from training import prm_text as module  # lazy: imports transformers
    elif name == "prm:trl":
        from training import prm_trl as module  # lazy: imports trl.experimental
    else:
        raise ValueError(f"unknown entry point {name!r}; one of {', '.join(ENTRY_POINTS)}")
    return module


def check_args(name: str, args: Mapping[str, Any]) -> None:
    """Parse ``args`` with entry point ``name``'s parser; ValidationError when they do not parse."""
    probe = {"output_dir": "unused", **args}
    try:
        parse_config(entry_point(name).make_parser(), probe)
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"invalid {name} config: {exc}") from None
