"""The ``chestx`` command line: thin wrappers over the domain packages.

Each sub-module registers its commands on the root Typer app through ``register(app)``.
Heavy libraries (torch, transformers, gradio) are imported inside the commands that need them,
so ``chestx --help`` and the database commands start quickly.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="chestx",
    help="ChestX Review: step-by-step review of chest X-ray model reasoning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Sub-modules of chestx.cli, in help order. Each defines register(app).
COMMAND_MODULES = (
    "serve",
    "db",
    "users",
    "imports",
    "receive",
    "reason",
    "export",
    "study",
    "train",
    "loop",
    "evaluate",
    "evaluate_model",
    "prioritize",
)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(f"chestx.cli.{name}").register(app)


_register_all()


def main() -> None:
    """Console-script entry point."""
    app()
