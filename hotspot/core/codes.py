"""Codes people read off a phone screen and type: no 0/O/o, 1/l/I/i look-alikes."""

import secrets

ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def random_code(length: int, alphabet: str = ALPHABET) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))
