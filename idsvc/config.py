"""Configuration: safe development defaults, overridden by ``IDSVC_*`` environment variables.

Tests pass their overrides as a dict to ``create_app``. In production mode
(``IDSVC_ENV=production``) :func:`check_production` refuses settings that are only fit for a
developer's laptop, and says what to set instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

#: Marker for the development secret; production refuses to start with it.
DEV_SECRET_KEY = "dev-only-not-secret-" + "0" * 32

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
    }
    if overrides:
        config.update(overrides)
    config["DATABASE_URL"] = normalise_database_url(config["DATABASE_URL"])
    return config


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever driver the URL names (or none)."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def check_production(config: dict[str, Any]) -> None:
    """Refuse development-only settings in production.

    :raises ConfigError: naming every setting that must change.
    """
    if config["IDSVC_ENV"] != "production":
        return
    problems = []
    secret = config.get("SECRET_KEY") or ""
    if secret == DEV_SECRET_KEY or len(secret) < 32:
        problems.append("IDSVC_SECRET_KEY must be set to a random value of at least 32 characters "
                        "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`).")
    if config["DATABASE_URL"].startswith("sqlite"):
        problems.append("IDSVC_DATABASE_URL must point at PostgreSQL "
                        "(postgresql://user@host:5432/idsvc); SQLite is for development only.")
    if not config["ISSUER"].startswith("https://"):
        problems.append("IDSVC_ISSUER must be the public https:// URL of this service.")
    keys_dir = Path(config["KEYS_DIR"])
    if not keys_dir.is_dir() or not any(keys_dir.glob("*.pem")):
        problems.append(f"IDSVC_KEYS_DIR ({keys_dir}) holds no signing key: "
                        "run `idsvc keys generate` there, or point IDSVC_KEYS_DIR at the key volume.")
    if problems:
        raise ConfigError("Refusing to start in production mode:\n  - " + "\n  - ".join(problems))
