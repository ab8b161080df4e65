"""Secrets kept in the database (operators' M-Pesa credentials), sealed with AES-256-GCM.

The key is derived (HKDF-SHA256) from HOTSPOT_SECRETS_KEY, which lives only in the environment,
so a database dump or backup alone does not carry usable credentials. Each sealed value is bound
to where it belongs (`context`, e.g. "operator:7:mpesa"): a ciphertext copied onto another row
does not open there. Layout: version byte, 12-byte random nonce, ciphertext with its tag.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = b"\x01"
NONCE_BYTES = 12
MIN_KEY_LENGTH = 16


class SealingError(ValueError):
    """A value that does not open with this key and context (wrong key, tampered, moved)."""


def _aead(key: str) -> AESGCM:
    if len(key) < MIN_KEY_LENGTH:
        raise SealingError(f"the secrets key must be at least {MIN_KEY_LENGTH} characters")
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"hotspot sealed secrets v1"
    ).derive(key.encode())
    return AESGCM(derived)


def seal(key: str, plaintext: bytes, context: str) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return VERSION + nonce + _aead(key).encrypt(nonce, plaintext, context.encode())


def unseal(key: str, sealed: bytes, context: str) -> bytes:
    if sealed[:1] != VERSION or len(sealed) < 1 + NONCE_BYTES + 16:
        raise SealingError("not a sealed value of a known version")
    nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
    try:
        return _aead(key).decrypt(nonce, body, context.encode())
    except InvalidTag:
        raise SealingError(
            f"{context}: does not open with HOTSPOT_SECRETS_KEY (another key, or altered)"
        ) from None
