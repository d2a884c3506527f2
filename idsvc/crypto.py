"""Keyed hashes, derived keys and random secrets: the one place that turns ``HASH_KEY`` into keys.

High-entropy secrets we generate (client secrets, codes, refresh and session tokens, activation
codes) are stored as HMAC-SHA-256 under a server key: as strong as argon2 for a 256-bit secret, and
about 10,000 times cheaper, so the token endpoint is not capped by hashing. Human-chosen passwords
use argon2id instead (``identity.passwords``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app


def _root_key() -> bytes:
    return str(current_app.config["HASH_KEY"]).encode()


def derived_key(purpose: str) -> bytes:
    """A 256-bit key for one purpose, derived from ``HASH_KEY`` (one key never serves two uses)."""
    return _derive(_root_key(), purpose)


@functools.lru_cache(maxsize=64)
def _derive(root: bytes, purpose: str) -> bytes:
    # Cached: every token, code and session check derives one (a handful of purposes per root key).
    return hmac.new(root, b"idsvc:" + purpose.encode(), hashlib.sha256).digest()


def keyed_hash(purpose: str, value: str) -> str:
    """Hex HMAC-SHA-256 of ``value`` under the key for ``purpose``; what we store for a secret."""
    return hmac.new(derived_key(purpose), value.encode(), hashlib.sha256).hexdigest()


def new_secret(nbytes: int = 32) -> str:
    """A URL-safe random secret (256 bits by default)."""
    return secrets.token_urlsafe(nbytes)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def encrypt(purpose: str, plaintext: bytes) -> bytes:
    """AES-256-GCM with a random nonce, for secrets we must read back (TOTP seeds)."""
    nonce = os.urandom(12)
    return nonce + AESGCM(derived_key(purpose)).encrypt(nonce, plaintext, purpose.encode())


def decrypt(purpose: str, blob: bytes) -> bytes:
    return AESGCM(derived_key(purpose)).decrypt(blob[:12], blob[12:], purpose.encode())


def compare(a: str, b: str) -> bool:
    """Constant-time comparison of two stored/computed hashes."""
    return hmac.compare_digest(a, b)
