"""The sources package's modules import one way: source → scope → connection → capabilities
(connection.py and scope.py used to import each other)."""

from __future__ import annotations

import ast
from pathlib import Path

import dhispatch.runtime.sources as sources

ORDER = ("source", "scope", "connection", "capabilities")


def _imports(module: str) -> set[str]:
    """The sibling modules ``module`` imports (at any level, TYPE_CHECKING blocks included)."""
    tree = ast.parse((Path(sources.__file__).parent / f"{module}.py").read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            prefix = "dhispatch.runtime.sources."
            if node.module.startswith(prefix):
                found.add(node.module[len(prefix) :])
    return found


def test_imports_run_one_way() -> None:
    for n, module in enumerate(ORDER):
        later = set(ORDER[: n + 1])  # itself and every module above it
        assert not _imports(module) & later, (module, _imports(module) & later)
    assert "scope" not in _imports("connection") and "source" not in _imports("connection")
