"""Signing-key material: the only module that reads or writes ``keys/``.

One PEM file per key, named ``<kid>.pem``; ``keys.json`` says which kid is active for each
algorithm and which are retired (still published until tokens they signed have expired).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask import current_app

from idsvc import crypto

ALGORITHMS = ("ES256", "RS256")
STATE_FILE = "keys.json"


class KeyMaterialError(RuntimeError):
    """Key material is missing or unreadable; the message says what to do."""


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    private_key: Any  # a cryptography private key object


def _new_private_key(alg: str) -> Any:
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    raise ValueError(f"unsupported algorithm {alg}")


@dataclass(frozen=True)
class _Loaded:
    """What one reading of the directory found (replaced whole, so threads see one or the other)."""

    state: dict[str, Any]
    keys: dict[str, SigningKey]
    #: (inode, mtime, size) of the state file read; a rotation or prune replaces the file.
    signature: tuple[int, int, int] | None
    #: The JWK Set to publish (public parts only).
    jwks: dict[str, Any]


class KeyStore:
    """Keys of one directory, loaded once and read again when the state file changes.

    A running process looks at the state file at most every ``recheck_seconds`` (one ``stat``), and
    at once when asked for a ``kid`` it does not know: a rotation or a prune made by the CLI or
    another worker reaches every process without a restart, and a token signed by a new key
    verifies everywhere at once.
    """

    def __init__(self, directory: Path, recheck_seconds: float = 5.0) -> None:
        self.directory = directory
        self.recheck_seconds = recheck_seconds
        self._loaded: _Loaded | None = None
        self._checked_at = 0.0

    def _read_state(self) -> dict[str, Any]:
        path = self.directory / STATE_FILE
        if not path.exists():
            return {"active": {}, "retired": []}
        return json.loads(path.read_text())

    def has_keys(self) -> bool:
        return all(alg in self._read_state()["active"] for alg in ALGORITHMS)

    def generate(self, alg: str) -> SigningKey:
        """Create a key for ``alg``, make it active and retire the previous one."""
        self.directory.mkdir(parents=True, exist_ok=True)
        kid = f"{alg.lower()}-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(4)}"
        key = _new_private_key(alg)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        path = self.directory / f"{kid}.pem"
        # Owner-only from creation: never a moment where the private key is world-readable.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        state = self._read_state()
        previous = state["active"].get(alg)
        if previous:
            state["retired"].append(previous)
            state.setdefault("retired_at", {})[previous] = datetime.now(UTC).isoformat()
        state["active"][alg] = kid
        self._write_state(state)
        return SigningKey(kid, alg, key)

    def _write_state(self, state: dict[str, Any]) -> None:
        tmp = self.directory / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.directory / STATE_FILE)
        self._loaded = None

    def prune(self, older_than_seconds: int) -> list[str]:
        """Delete the retired keys retired more than ``older_than_seconds`` ago (every token they
        signed has expired); returns their kids. A retired key with no date gets today's."""
        state = self._read_state()
        now = datetime.now(UTC)
        dates = state.setdefault("retired_at", {})
        gone = []
        for kid in list(state["retired"]):
            retired_at = datetime.fromisoformat(dates.setdefault(kid, now.isoformat()))
            if (now - retired_at).total_seconds() > older_than_seconds:
                state["retired"].remove(kid)
                dates.pop(kid)
                gone.append(kid)
        self._write_state(state)  # first: a worker reading the keys meanwhile never looks for a deleted file
        for kid in gone:
            (self.directory / f"{kid}.pem").unlink(missing_ok=True)
        return gone

    def ensure(self) -> list[SigningKey]:
        """Generate the keys that are missing (development first run); return the new ones."""
        active = self._read_state()["active"]
        return [self.generate(alg) for alg in ALGORITHMS if alg not in active]

    def _signature(self) -> tuple[int, int, int] | None:
        try:
            st = (self.directory / STATE_FILE).stat()
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def _current(self, *, recheck_now: bool = False) -> _Loaded:
        loaded, now = self._loaded, time.monotonic()
        if loaded is not None and (recheck_now or now >= self._checked_at + self.recheck_seconds):
            self._checked_at = now
            if self._signature() != loaded.signature:
                loaded = None  # rotated or pruned since: read again
        if loaded is None:
            signature = self._signature()  # before the read: a change in between is seen next time
            state = self._read_state()
            keys = {}
            for kid in [*state["active"].values(), *state["retired"]]:
                path = self.directory / f"{kid}.pem"
                try:
                    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
                except (OSError, ValueError) as exc:
                    raise KeyMaterialError(f"cannot read signing key {path}: {exc}") from exc
                alg = "ES256" if isinstance(key, ec.EllipticCurvePrivateKey) else "RS256"
                keys[kid] = SigningKey(kid, alg, key)
            loaded = _Loaded(state, keys, signature, {"keys": [_public_jwk(key) for key in keys.values()]})
            self._loaded, self._checked_at = loaded, now
        return loaded

    def load(self) -> dict[str, SigningKey]:
        return self._current().keys

    def active(self, alg: str = "ES256") -> SigningKey:
        loaded = self._current()
        kid = loaded.state["active"].get(alg)
        if kid is None:
            raise KeyMaterialError(f"no active {alg} key in {self.directory}: run `idsvc keys generate`")
        return loaded.keys[kid]

    def get(self, kid: str) -> SigningKey | None:
        key = self._current().keys.get(kid)
        if key is None:  # perhaps made by another process a moment ago
            key = self._current(recheck_now=True).keys.get(kid)
        return key

    def public_jwks(self) -> dict[str, Any]:
        """The JWK Set to publish: active and retired keys (public parts only); the same object
        until the keys change."""
        return self._current().jwks

    def listing(self) -> list[tuple[str, str, str]]:
        """(kid, alg, "active"|"retired") for every key."""
        loaded = self._current()
        active = set(loaded.state["active"].values())
        return [(k.kid, k.alg, "active" if k.kid in active else "retired") for k in loaded.keys.values()]


def _b64_int(value: int, length: int | None = None) -> str:
    """A JWK integer: big-endian, base64url (``length`` bytes for EC coordinates, RFC 7518 §6.2.1)."""
    return crypto.b64url(value.to_bytes(length or (value.bit_length() + 7) // 8 or 1, "big"))


def _public_jwk(key: SigningKey) -> dict[str, str]:
    numbers = key.private_key.public_key().public_numbers()
    if key.alg == "ES256":
        material = {"kty": "EC", "crv": "P-256", "x": _b64_int(numbers.x, 32), "y": _b64_int(numbers.y, 32)}
    else:
        material = {"kty": "RSA", "n": _b64_int(numbers.n), "e": _b64_int(numbers.e)}
    return {**material, "kid": key.kid, "alg": key.alg, "use": "sig"}


def get_keystore(app: Flask | None = None) -> KeyStore:
    return (app or current_app).extensions["idsvc.keys"]


def init_app(app: Flask) -> None:
    app.extensions["idsvc.keys"] = KeyStore(Path(app.config["KEYS_DIR"]), app.config["KEYS_RECHECK_SECONDS"])
