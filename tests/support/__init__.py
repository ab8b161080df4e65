"""What the tests share: the stack and its harnesses, factories and helpers. Test modules import
from here, never from each other (tests/unit/test_suite_layout.py checks)."""
