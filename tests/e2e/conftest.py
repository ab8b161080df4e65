"""End to end, the stack includes FreeRADIUS."""

import pytest

from tests.support.stack import StackUnderTest


@pytest.fixture(scope="session")
def stack(stack: StackUnderTest) -> StackUnderTest:
    """The suite's stack with FreeRADIUS started on it, at the first e2e test that asks: a run of
    the other tiers alone never starts it."""
    stack.ensure_freeradius()
    return stack
