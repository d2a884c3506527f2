"""Where the per-source login counters live: in Redis every worker counts against one limit
(production refuses ``memory://``, where each counts on its own: see test_factory)."""

from __future__ import annotations

import secrets

from idsvc import create_app
from idsvc import db
from tests.browser import Browser


def test_with_redis_two_workers_share_one_limit(scratch_database_url, keys_dir, redis_url) -> None:
    """Two apps stand for two gunicorn workers: with memory:// each would let 3 attempts through."""
    workers = [create_app({"TESTING": True, "DATABASE_URL": scratch_database_url, "KEYS_DIR": str(keys_dir),
                           "LOGIN_RATE_LIMIT": "3 per minute", "RATELIMIT_STORAGE_URI": redis_url}) for _ in range(2)]
    source = f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(256)}"  # a count of its own
    clients = [worker.test_client() for worker in workers]
    forms = []
    for client in clients:
        client.environ_base["REMOTE_ADDR"] = source
        forms.append({"id_number": "001090999999", "password": "not my password",
                      "csrf_token": Browser.csrf(client.get("/login").text)})
    statuses = [clients[i % 2].post("/login", data=forms[i % 2]).status_code for i in range(6)]
    assert statuses[:3] == [401, 401, 401] and statuses[3:] == [429, 429, 429]
    for worker in workers:
        db.get_db(worker).engine.dispose()
