"""The reasoner package knows nothing of the UI or the database."""

from __future__ import annotations

import ast
from pathlib import Path

import reasoner

FORBIDDEN = ("gradio", "review_db", "chestx", "training")


def test_reasoner_never_imports_ui_database_or_cli():
    root = Path(reasoner.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.relative_to(root)}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []
