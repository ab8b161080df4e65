"""What every tier shares: the stack's fixtures (tests/support/fixtures.py; nothing starts until
a test asks for one), each test marked with its tier, and no unit test that would start the
stack."""

from pathlib import Path

import pytest

pytest_plugins = ["tests.support.fixtures", "tests.support.portal"]

TESTS = Path(__file__).resolve().parent
TIERS = ("unit", "integration", "e2e")


def tier_of(path: Path) -> str | None:
    """The tier a test module's directory names, if any (tests/deploy has none)."""
    top = path.relative_to(TESTS).parts[0]
    return top if top in TIERS else None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks each test with its tier (`-m unit`, `-m "not e2e"`), and stops the run before it
    starts anything if a unit test asks for the stack, even indirectly through a fixture."""
    stack_in_unit = []
    for item in items:
        tier = tier_of(item.path)
        if tier is None:
            continue
        item.add_marker(getattr(pytest.mark, tier))
        if tier == "unit" and "stack" in getattr(item, "fixturenames", ()):
            stack_in_unit.append(item.nodeid)
    if stack_in_unit:
        raise pytest.UsageError(
            "unit tests must not start the stack; move these to tests/integration or "
            "tests/e2e: " + ", ".join(stack_in_unit)
        )
