"""Configuration: safe development defaults, overridden by ``IDSVC_*`` environment variables.

Tests pass their overrides as a dict to ``create_app``. In production mode
(``IDSVC_ENV=production``) :func:`check_production` refuses settings that are only fit for a
developer's laptop, and says what to set instead.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

#: Marker for the development secret; production refuses to start with it.
DEV_SECRET_KEY = "dev-only-not-secret-" + "0" * 32

DEV_HASH_KEY = "dev-only-hash-key-" + "0" * 32
DEV_PAIRWISE_KEY = "dev-only-pairwise-key-" + "0" * 32

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message says what to set."""


def _default_sqlite_url(instance_path: Path) -> str:
    return f"sqlite:///{instance_path / 'idsvc.sqlite3'}"


def load_config(instance_path: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the Flask config dict: defaults, then environment, then ``overrides``."""
    env = os.environ
    config: dict[str, Any] = {
        "IDSVC_ENV": env.get("IDSVC_ENV", "development"),
        "SECRET_KEY": env.get("IDSVC_SECRET_KEY", DEV_SECRET_KEY),
        "DATABASE_URL": env.get("IDSVC_DATABASE_URL") or _default_sqlite_url(instance_path),
        "ISSUER": env.get("IDSVC_ISSUER", "http://127.0.0.1:5000"),
        "KEYS_DIR": env.get("IDSVC_KEYS_DIR", str(PROJECT_ROOT / "keys")),
        "LOG_LEVEL": env.get("IDSVC_LOG_LEVEL", "INFO"),
        # Rows per transaction in bulk import: a crash loses at most one uncommitted chunk.
        "IMPORT_CHUNK_SIZE": int(env.get("IDSVC_IMPORT_CHUNK_SIZE", "10000")),
        "SQL_ECHO": False,
        # Key of the keyed hashes of our generated secrets and of the TOTP-seed encryption.
        "HASH_KEY": env.get("IDSVC_HASH_KEY", DEV_HASH_KEY),
        # Key of the pairwise subjects: changing it changes every ``sub`` agencies know.
        "PAIRWISE_KEY": env.get("IDSVC_PAIRWISE_KEY", DEV_PAIRWISE_KEY),
        # argon2id, OWASP floor (m=19 MiB, t=2, p=1); ~20 ms a hash on this class of machine.
        "PASSWORD_HASH": {"time_cost": 2, "memory_cost": 19456, "parallelism": 1},
        "PASSWORD_MIN_LENGTH": 12,
        # Lockout: THRESHOLD failures within WINDOW lock the account for BASE seconds, doubled at
        # each further lockout up to MAX; never permanent.
        "LOCKOUT_THRESHOLD": 5,
        "LOCKOUT_WINDOW_SECONDS": 900,
        "LOCKOUT_BASE_SECONDS": 60,
        "LOCKOUT_MAX_SECONDS": 3600,
        # Per-source limit on credential forms (the `limits` syntax), and where counts live.
        "LOGIN_RATE_LIMIT": env.get("IDSVC_LOGIN_RATE_LIMIT", "30 per minute"),
        "RATELIMIT_STORAGE_URI": env.get("IDSVC_RATELIMIT_STORAGE_URI", "memory://"),
        "ACTIVATION_CODE_HOURS": 72,
        # Reverse proxies in front of the service whose X-Forwarded-For/-Proto are to be believed.
        "TRUSTED_PROXIES": int(env.get("IDSVC_TRUSTED_PROXIES", "0")),
        # How often a process looks whether the signing keys were rotated or pruned (oidc.keys.KeyStore).
        "KEYS_RECHECK_SECONDS": float(env.get("IDSVC_KEYS_RECHECK_SECONDS", "5")),
        # How long a process keeps a client it has looked up (see oidc.clients.find_client).
        "CLIENT_CACHE_SECONDS": float(env.get("IDSVC_CLIENT_CACHE_SECONDS", "5")),
        # Eligibility list checks: how long uploaded lists and their results are kept (days, from
        # the upload; `idsvc purge` deletes them), how large a batch may be, the rows a worker
        # resolves in one go, how long a worker's claim on a chunk lasts before another may take
        # it over, and how often an idle worker looks for work.
        "ELIGIBILITY_RETENTION_DAYS": int(env.get("IDSVC_ELIGIBILITY_RETENTION_DAYS", "30")),
        "ELIGIBILITY_BATCH_MAX_BYTES": int(env.get("IDSVC_ELIGIBILITY_BATCH_MAX_BYTES", str(50 * 1024 * 1024))),
        "ELIGIBILITY_BATCH_MAX_ROWS": int(env.get("IDSVC_ELIGIBILITY_BATCH_MAX_ROWS", "1000000")),
        "ELIGIBILITY_CHUNK_ROWS": int(env.get("IDSVC_ELIGIBILITY_CHUNK_ROWS", "1000")),
        "ELIGIBILITY_LEASE_SECONDS": float(env.get("IDSVC_ELIGIBILITY_LEASE_SECONDS", "300")),
        "ELIGIBILITY_WORKER_POLL_SECONDS": float(env.get("IDSVC_ELIGIBILITY_WORKER_POLL_SECONDS", "2")),
        # Registry office operations a clerk's proposal applies at once (no second pair of eyes);
        # an operation that always needs review (death, name change ...) never does, whatever this says.
        "OFFICE_IMMEDIATE_OPERATIONS": tuple(filter(None, (op.strip() for op in env.get(
            "IDSVC_OFFICE_IMMEDIATE_OPERATIONS", "move,household_move,correction,temporary_residence,"
            "temporary_residence_end,absence,absence_end,id_card").split(",")))),
        "SESSION_IDLE_MINUTES": 30,
        "SESSION_MAX_HOURS": 12,
        "AUTHORIZATION_CODE_SECONDS": 60,
        "ACCESS_TOKEN_SECONDS": 600,
        "ID_TOKEN_SECONDS": 3600,
        "REFRESH_TOKEN_DAYS": 30,
        "SESSION_COOKIE_NAME": "idsvc_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Pages send no Referer (Referrer-Policy: no-referrer), so Flask-WTF's https Referer
        # check would refuse every form; the CSRF token and the SameSite cookie protect them.
        "WTF_CSRF_SSL_STRICT": False,
    }
    if overrides:
        config.update(overrides)
    config["DATABASE_URL"] = normalise_database_url(config["DATABASE_URL"])
    # Cookies only over TLS, except for a development issuer on http://.
    config.setdefault("SESSION_COOKIE_SECURE", str(config["ISSUER"]).startswith("https://"))
    return config


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever driver the URL names (or none)."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def check_production(config: dict[str, Any], *, serving: bool = True) -> None:
    """Refuse development-only settings in production.

    Every production process checks the settings an operator gives it (secrets, database, issuer):
    the commands write hashes, encrypted seeds and audit rows with them. Only a process about to
    serve (``serving``: the WSGI app, ``idsvc run``) also wants what the set-up commands make — a
    signing key, which ``idsvc keys generate`` creates in production mode too — and a store of the
    per-source login counters that all workers share and that answers.

    :raises ConfigError: naming every setting that must change.
    """
    if config["IDSVC_ENV"] != "production":
        return
    problems = []
    secret = config.get("SECRET_KEY") or ""
    if secret == DEV_SECRET_KEY or len(secret) < 32:
        problems.append("IDSVC_SECRET_KEY must be set to a random value of at least 32 characters "
                        "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`).")
    for name, dev_value in (("HASH_KEY", DEV_HASH_KEY), ("PAIRWISE_KEY", DEV_PAIRWISE_KEY)):
        value = str(config.get(name) or "")
        if value == dev_value or len(value) < 32:
            problems.append(f"IDSVC_{name} must be set to a random value of at least 32 characters, "
                            "kept in the secret store and never changed once in use.")
    if config["DATABASE_URL"].startswith("sqlite"):
        problems.append("IDSVC_DATABASE_URL must point at PostgreSQL "
                        "(postgresql://user@host:5432/idsvc); SQLite is for development only.")
    if not config["ISSUER"].startswith("https://"):
        problems.append("IDSVC_ISSUER must be the public https:// URL of this service.")
    if serving:
        keys_dir = Path(config["KEYS_DIR"])
        if not keys_dir.is_dir() or not any(keys_dir.glob("*.pem")):
            problems.append(f"IDSVC_KEYS_DIR ({keys_dir}) holds no signing key: "
                            "run `idsvc keys generate` with the same settings, "
                            "or point IDSVC_KEYS_DIR at the key volume.")
        storage_problem = _ratelimit_storage_problem(config["RATELIMIT_STORAGE_URI"])
        if storage_problem:
            problems.append(storage_problem)
    if problems:
        doing = "start" if serving else "run this command"
        raise ConfigError(f"Refusing to {doing} in production mode:\n  - " + "\n  - ".join(problems))


def _ratelimit_storage_problem(uri: str) -> str | None:
    """Why the login counters cannot live at ``uri`` in production, or None."""
    from limits.errors import ConfigurationError
    from limits.storage import storage_from_string

    if uri.startswith("memory:"):
        return ("IDSVC_RATELIMIT_STORAGE_URI is memory://, where each worker counts login attempts on its "
                "own (4 workers let 4 times the limit through): set IDSVC_RATELIMIT_STORAGE_URI=redis://host:6379/0 "
                "so all workers share the counters.")
    shown = re.sub(r"//[^@/]*@", "//…@", uri)  # no password in the message
    # A Redis that does not answer is named within seconds, not after the system's TCP timeout.
    timeouts = {"socket_connect_timeout": 3, "socket_timeout": 3} if uri.startswith("redis") else {}
    try:
        reachable = storage_from_string(uri, **timeouts).check()
    except ConfigurationError as exc:
        return f"IDSVC_RATELIMIT_STORAGE_URI ({shown}) cannot be used: {exc}."
    if not reachable:
        return (f"IDSVC_RATELIMIT_STORAGE_URI ({shown}) does not answer: start that Redis, or point the variable "
                "at one that runs (the per-source login limit needs it).")
    return None
