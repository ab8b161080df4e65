"""What every tier shares: the stack's fixtures (tests/support/fixtures.py; nothing starts until
a test asks for it)."""

pytest_plugins = ["tests.support.fixtures"]
