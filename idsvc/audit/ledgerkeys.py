"""The ledger's signing keys (ES256), kept apart from the OpenID Connect keys, and the JWS of heads.

One PEM file per key in ``<KEYS_DIR>/ledger/``, named ``<kid>.pem``; ``ledger.json`` names the
active kid and the retired ones. A retired key never signs again but stays published for ever:
the heads it signed must stay checkable. In development the first key is made on first use; in
production ``idsvc audit rotate-key`` makes it (and each later one).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from flask import Flask
from flask import current_app

from idsvc import crypto

STATE_FILE = "ledger.json"
JWS_TYPE = "ledger-head+jws"


class LedgerKeyError(RuntimeError):
    """No usable ledger key; the message says what to do."""


@dataclass(frozen=True)
class LedgerKey:
    kid: str
    private_key: ec.EllipticCurvePrivateKey


class LedgerKeyStore:
    """The keys of ``directory``, read again whenever its state file changed (a rotation)."""

    def __init__(self, directory: Path, *, create_on_first_use: bool) -> None:
        self.directory = directory
        self.create_on_first_use = create_on_first_use
        self._lock = threading.Lock()
        self._loaded: tuple[Any, dict[str, Any], dict[str, LedgerKey], dict[str, Any]] | None = None

    def _stamp(self) -> Any:
        try:
            st = (self.directory / STATE_FILE).stat()
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def _current(self) -> tuple[dict[str, Any], dict[str, LedgerKey], dict[str, Any]]:
        stamp = self._stamp()
        loaded = self._loaded
        if loaded is None or loaded[0] != stamp:
            path = self.directory / STATE_FILE
            state = json.loads(path.read_text()) if path.exists() else {"active": None, "retired": []}
            keys = {}
            for kid in filter(None, [state["active"], *state["retired"]]):
                try:
                    key = serialization.load_pem_private_key((self.directory / f"{kid}.pem").read_bytes(), None)
                except (OSError, ValueError) as exc:
                    raise LedgerKeyError(f"cannot read ledger key {kid}: {exc}") from exc
                if not isinstance(key, ec.EllipticCurvePrivateKey):
                    raise LedgerKeyError(f"ledger key {kid} is not an EC P-256 key")
                keys[kid] = LedgerKey(kid, key)
            jwks = {"keys": [public_jwk(k.kid, k.private_key.public_key()) for k in keys.values()]}
            loaded = self._loaded = (stamp, state, keys, jwks)
        return loaded[1], loaded[2], loaded[3]

    def active(self) -> LedgerKey:
        state, keys, _ = self._current()
        if state["active"] is None:
            if not self.create_on_first_use:
                raise LedgerKeyError(f"no ledger key in {self.directory}: run `idsvc audit rotate-key`")
            with self._lock, self._file_lock():
                state, keys, _ = self._current()
                if state["active"] is None:  # nobody made it meanwhile (another thread or process)
                    return self._rotate()
        return keys[state["active"]]

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        """Processes (web workers, the CLI) take turns to change the state file."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / ".lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def rotate(self) -> LedgerKey:
        """Make a new key the active one; the previous one is retired (still published)."""
        with self._lock, self._file_lock():
            return self._rotate()

    def _rotate(self) -> LedgerKey:
        kid = f"ledger-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(4)}"
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        fd = os.open(self.directory / f"{kid}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        state, _, _ = self._current()
        state = {"active": kid, "retired": [*state["retired"], *filter(None, [state["active"]])]}
        tmp = self.directory / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.directory / STATE_FILE)
        self._loaded = None
        return LedgerKey(kid, key)

    def public_jwks(self) -> dict[str, Any]:
        """Every ledger key, active and retired (public parts only)."""
        return self._current()[2]


def public_jwk(kid: str, public_key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    numbers = public_key.public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": crypto.b64url(numbers.x.to_bytes(32, "big")),
            "y": crypto.b64url(numbers.y.to_bytes(32, "big")), "kid": kid, "alg": "ES256", "use": "sig"}


def sign(payload: bytes, key: LedgerKey) -> str:
    """Compact JWS (RFC 7515), ES256, of ``payload`` as given (its bytes are the head)."""
    header = json.dumps({"alg": "ES256", "kid": key.kid, "typ": JWS_TYPE}, separators=(",", ":")).encode()
    signing_input = f"{crypto.b64url(header)}.{crypto.b64url(payload)}".encode()
    r, s = decode_dss_signature(key.private_key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return f"{signing_input.decode()}.{crypto.b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def open_jws(jws: str, jwks: dict[str, Any]) -> tuple[str, bytes] | None:
    """(kid, payload) of a JWS signed by a key of ``jwks``; None if it is not one."""
    try:
        header_b64, payload_b64, signature_b64 = jws.split(".")
        header = json.loads(_unb64(header_b64))
        jwk = next(k for k in jwks.get("keys", []) if k.get("kid") == header.get("kid"))
        if header.get("alg") != "ES256" or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
            return None
        public = ec.EllipticCurvePublicNumbers(int.from_bytes(_unb64(jwk["x"]), "big"),
                                               int.from_bytes(_unb64(jwk["y"]), "big"), ec.SECP256R1()).public_key()
        raw = _unb64(signature_b64)
        if len(raw) != 64:
            return None
        signature = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        public.verify(signature, f"{header_b64}.{payload_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        return header["kid"], _unb64(payload_b64)
    except (ValueError, KeyError, TypeError, StopIteration, InvalidSignature, AttributeError):
        return None


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def get_ledger_keys(app: Flask | None = None) -> LedgerKeyStore:
    """The app's ledger key store (made on first use: nothing is read at start)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    store = app.extensions.get("idsvc.ledger_keys")
    if store is None:
        store = app.extensions["idsvc.ledger_keys"] = LedgerKeyStore(
            Path(app.config["KEYS_DIR"]) / "ledger",
            create_on_first_use=app.config["IDSVC_ENV"] != "production")
    return store
