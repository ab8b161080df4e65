"""The suite's own layout: every test module in a tier, and helpers shared through tests/support,
never by importing another test module (which would run its tests' imports, fixtures included,
wherever it is imported)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.support.paths import ROOT

TESTS = ROOT / "tests"
TIERS = ("unit", "integration", "e2e")


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def imported_modules(path: Path) -> Iterator[str]:
    """Every module `path` imports from, relative imports resolved."""
    package = module_name(path).rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            yield module
            if node.module is None:  # `from . import x`: x may be a module
                yield from (f"{module}.{alias.name}" for alias in node.names)


def test_no_module_imports_a_test_module() -> None:
    crossings = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in sorted(TESTS.rglob("*.py"))
        for module in imported_modules(path)
        if module.startswith("tests.") and module.rsplit(".", 1)[-1].startswith("test_")
    ]
    assert crossings == [], "shared helpers belong in tests/support"


def test_every_test_module_is_in_a_tier() -> None:
    untiered = [
        str(path.relative_to(TESTS))
        for path in sorted(TESTS.rglob("test_*.py"))
        if path.relative_to(TESTS).parts[0] not in (*TIERS, "deploy")
    ]
    assert untiered == [], "tests/unit, tests/integration or tests/e2e (README.md, Tests)"
