"""The vocabularies: the bottom package, complete, consistent, and the one definition.

``vocab`` imports nothing of the project; every kind has its facts; the review page's keys are
each bound once; the database's CHECK constraints, the browser's copy and the old import paths
all derive from the one definition.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

import vocab
from chestx.web.common import head
from imaging.errors import ImageRejected
from reasoner.prompts import TaskType as ReasonerTaskType
from review_db.errors import ChestXError
from review_db.models import Base
from review_db.store.reviews import MAX_TEXT
from review_db.types import AnswerVerdict as DbAnswerVerdict
from review_db.types import Verdict as DbVerdict
from vocab import AnswerVerdict, StepEffect, TaskType, Verdict
from vocab.browser import for_browser
from vocab.keys import help_rows, page_keys

ROOT = Path(__file__).resolve().parents[2]
# The project's other top-level packages and modules (vocab is below all of them).
PROJECT = {
    "app",
    "chestx",
    "exports",
    "imaging",
    "migrations",
    "reasoner",
    "review_db",
    "services",
    "training",
}


def test_vocab_imports_nothing_of_the_project() -> None:
    offenders = []
    for path in (ROOT / "vocab").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in PROJECT]
    assert offenders == []


def test_every_verdict_has_its_facts_and_one_replaces_the_text() -> None:
    assert [v.facts.done for v in Verdict][:3] == ["Accepted", "Corrected", "Rejected"]
    assert [v for v in Verdict if v.facts.needs_text] == [Verdict.correct]
    assert Verdict.accept.facts.effect is StepEffect.keep and not Verdict.accept.facts.asks_reason
    assert Verdict.reject.facts.asks_reason and Verdict.reject.facts.effect is StepEffect.drop
    assert all(v.facts.label and v.facts.css and v.facts.color.startswith("#") for v in Verdict)
    assert [a.facts.key for a in AnswerVerdict][:3] == ["y", "n", "u"]


def test_the_review_page_binds_each_key_once() -> None:
    keys = page_keys()
    assert len(keys) == len(set(keys)), keys
    listed = [k for row, _ in help_rows() for k in row.split(" / ")]
    assert all(k in listed for k in keys)


def test_the_old_import_paths_are_the_same_objects() -> None:
    assert ReasonerTaskType is TaskType and DbVerdict is Verdict and DbAnswerVerdict is AnswerVerdict
    assert ChestXError is vocab.ChestXError and issubclass(ImageRejected, vocab.ChestXError)
    assert MAX_TEXT == vocab.MAX_TEXT


@pytest.mark.parametrize(
    ("column", "kinds"),
    [
        ("step_verdicts.verdict", Verdict),
        ("chain_reviews.answer_verdict", AnswerVerdict),
        ("cases.task_type", TaskType),
    ],
)
def test_the_database_checks_come_from_the_enums(column: str, kinds: type) -> None:
    table, name = column.split(".")
    enum_type = Base.metadata.tables[table].c[name].type
    assert list(enum_type.enums) == [k.value for k in kinds]


def test_the_browser_copy_is_rendered_from_the_vocabulary() -> None:
    island = re.search(r'<script type="application/json" id="cx-vocab">(.*?)</script>', head(), re.S)
    assert island is not None
    data = json.loads(island.group(1))
    assert data == json.loads(json.dumps(for_browser()))
    assert [v["value"] for v in data["verdicts"]] == [v.value for v in Verdict]
    assert [v["key"] for v in data["verdicts"]] == [v.facts.key for v in Verdict]
    assert data["help"][0] == ["j / k", "Next / previous step"] and data["max_text"] == vocab.MAX_TEXT


def test_the_scripts_keep_no_copy_of_the_verdicts() -> None:
    static = ROOT / "chestx" / "web" / "static"
    for name in ("chain.js", "help.js"):
        text = static.joinpath(name).read_text(encoding="utf-8")
        assert "cx-vocab" in text, name
        quoted = [v.value for v in Verdict if f'"{v.value}"' in text] + [
            v.facts.done for v in Verdict if v.facts.done in text
        ]
        assert quoted == [], (name, quoted)
    assert "Accept the step" not in static.joinpath("help.js").read_text(encoding="utf-8")
