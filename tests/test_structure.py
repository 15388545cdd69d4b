"""The import graph of ``portal/``: no module imports one that imports it back (at import time or
inside a function), and the shared pieces sit below the areas that use them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PORTAL = Path(__file__).resolve().parent.parent / "portal"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PORTAL.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Every portal module and the portal modules it imports anywhere in its body, except
    imports made only for type checking."""
    paths = {_module_name(p): p for p in PORTAL.rglob("*.py") if "migrations" not in p.parts}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        tree = ast.parse(path.read_text())
        type_only = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
                     and ast.unparse(block.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
                     for node in ast.walk(block)}
        found: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in type_only:
                continue
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found |= {m for m in (node.module, *(f"{node.module}.{a.name}" for a in node.names))
                          if m in paths}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name in paths}
        graph[name] = found - {name, "portal"}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return cycles


def test_no_module_imports_one_that_imports_it_back() -> None:
    assert _cycles(_imports()) == []


def _area(module: str) -> str:
    return ".".join(module.split(".")[:2])


@pytest.mark.parametrize(("area", "must_not_reach"), [
    # the models' column helper lives in portal.db, not in one area's models
    ("portal.jobs", {"portal.mandates"}),
    ("portal.webhooks", {"portal.mandates"}),
    # the PDF pipeline does not decide to send mail
    ("portal.documents", {"portal.mail"}),
    # channels hand over messages; the delivery rule and the reminder schedule sit in mandates
    ("portal.mail", {"portal.reminders", "portal.sms"}),
    ("portal.sms", {"portal.reminders", "portal.mail"}),
    ("portal.mandates", {"portal.reminders", "portal.mail", "portal.sms", "portal.documents"}),
])
def test_areas_do_not_import_what_builds_on_them(area: str, must_not_reach: set[str]) -> None:
    graph = _imports()
    reached = {_area(target) for module, targets in graph.items() if _area(module) == area
               for target in targets}
    assert reached & must_not_reach == set()


def test_every_module_imports() -> None:
    """A name moved or renamed is caught here even in a module no other test loads first."""
    import importlib

    for module in sorted(_imports()):
        importlib.import_module(module)
