"""The floor plan, checked: layers point down (import-linter's contracts in pyproject.toml), no
import cycles among the project's modules (function-level imports included), and a
function-level import of a project module only where a heavy optional dependency justifies it,
each saying why on its line (``# lazy: <reason>``)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "chestx",
    "services",
    "training",
    "exports",
    "migrations",
    "review_db",
    "imaging",
    "reasoner",
    "vocab",
)
MAX_LAZY = 20


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "BROKEN" not in done.stdout and "KEPT" in done.stdout


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in graph.modules:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_no_import_cycles() -> None:
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True, cache_dir=None)
    # A package's __init__ re-exporting its modules is not a cycle of design: leave those edges out.
    for module in list(graph.modules):
        for imported in list(graph.find_modules_directly_imported_by(module)):
            if imported.startswith(module + ".") and graph.is_module_squashed(module) is False:
                graph.remove_import(importer=module, imported=imported)
    assert _cycles(graph) == []


def _function_level_imports() -> list[tuple[str, int, str]]:
    """(file, line, source line) of each import of a project module inside a function body."""
    found = []
    for package in (*PACKAGES, "app.py"):
        paths = [ROOT / package] if package.endswith(".py") else (ROOT / package).rglob("*.py")
        for path in paths:
            if "versions" in path.parts:
                continue
            lines = path.read_text(encoding="utf-8").splitlines()
            for fn in ast.walk(ast.parse("\n".join(lines))):
                if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for node in ast.walk(fn):
                    names = []
                    if isinstance(node, ast.Import):
                        names = [a.name for a in node.names]
                    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                        names = [node.module]
                    if any(n.split(".")[0] in (*PACKAGES, "app") for n in names):
                        found.append(
                            (str(path.relative_to(ROOT)), node.lineno, lines[node.lineno - 1].strip())
                        )
    return sorted(set(found))


def test_function_level_imports_are_few_and_each_says_why() -> None:
    found = _function_level_imports()
    unexplained = [f"{f}:{n}: {line}" for f, n, line in found if "# lazy:" not in line]
    assert unexplained == []
    assert len(found) < MAX_LAZY, "\n".join(f"{f}:{n}: {line}" for f, n, line in found)
