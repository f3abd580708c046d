"""Project-wide rules: layering, documentation of every CLI command."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import typer.main

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", ["reasoner", "review_db", "training"])
def test_domain_packages_never_import_gradio(package: str) -> None:
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / package).rglob("*.py") if "gradio" in _imports(p)]
    assert offenders == []


def test_reasoner_does_not_import_review_db() -> None:
    offenders = [
        str(p.relative_to(ROOT)) for p in (ROOT / "reasoner").rglob("*.py") if "review_db" in _imports(p)
    ]
    assert offenders == []


def test_only_settings_reads_the_environment() -> None:
    allowed = {ROOT / "chestx" / "settings.py"}
    offenders = []
    for package in ("chestx", "reasoner", "review_db", "training"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if path not in allowed and ("os.environ" in text or "os.getenv" in text):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def _commands(group: typer.Typer, prefix: str = "chestx") -> list[str]:
    click_group = typer.main.get_command(group)
    found: list[str] = []

    def walk(cmd, name: str) -> None:  # noqa: ANN001
        sub = getattr(cmd, "commands", None)
        if sub:
            for child_name, child in sub.items():
                walk(child, f"{name} {child_name}")
        else:
            found.append(name)

    walk(click_group, prefix)
    return found


def test_every_cli_command_is_documented_in_the_readme() -> None:
    from chestx.cli import app

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [c for c in _commands(app) if c not in readme]
    assert missing == []
