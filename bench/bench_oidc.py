"""Throughput and latency of the OpenID Connect endpoints under gunicorn, with two baselines.

Builds a dedicated PostgreSQL database (``idsvc_bench``), migrates it, generates signing keys
into a temporary directory and seeds, through the service layer, a machine client
(client_credentials, ``client_secret_basic``), a resource server that may introspect, an
agency client, and an active level-1 account with a password. Then serves ``wsgi:app`` with
``gunicorn -w 2`` (sync workers, the README's production command; ``--worker-threads 8`` for the
gthread worker) in production mode (random secrets, an ``https://`` issuer, the production
argon2 parameters) and loads each endpoint with ``wrk --latency`` (``bench/wrk/request.lua``):

- ``POST /token`` client_credentials (an ES256 JWT access token, its row and an audit event);
- ``POST /introspect`` of such a token by the resource server;
- ``GET /userinfo`` with a person's access token (registry read, audit event);
- ``GET /jwks.json`` and ``GET /.well-known/openid-configuration``;
- ``POST /login`` with a correct password (one argon2id verification, a session, an audit event).

In the same run, the same client_credentials load goes to ``bench/minimal_authlib.py`` (Flask +
Authlib, in-memory client, no database, gunicorn with the same workers and threads) and to panva's
``oidc-provider`` (``bench/oidc-provider``) in one and in two Node processes; and the argon2
ceiling is measured directly: verifications per second of the production parameters on as many
processes as gunicorn has workers.

Every response's status is counted. A run where more than ``--max-error-ratio`` of the responses
are not the expected status (or sockets fail) is invalid: the script says so and exits 1. Missed
targets are reported, never an exit status (a busy machine misses them).

The login form is limited per source address (``IDSVC_LOGIN_RATE_LIMIT``, 30 per minute): the
bench raises that limit for its server, since every request comes from 127.0.0.1; the counters live
in the local Redis (``IDSVC_RATELIMIT_STORAGE_URI``, as production requires). The CSRF token
and its cookie are fetched once (``GET /login``) and sent with every POST: Flask-WTF keeps no
server-side state, so each POST is validated exactly as a browser's would be.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import multiprocessing
import os
import re
import secrets
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import create_engine
from sqlalchemy import make_url
from sqlalchemy import text

if TYPE_CHECKING:
    from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
BIN = Path(sys.executable).parent
LUA = BENCH / "wrk" / "request.lua"
NODE_DIR = BENCH / "oidc-provider"
PG_DB = "idsvc_bench"
ISSUER = "https://idsvc.bench.invalid"
MACHINE_SCOPE = "registry.verify"
USER_SCOPE = "openid profile birthdate gender address"
ID_NUMBER = "001080012345"  # a named citizen of fixtures/demo_citizens.csv
PASSWORD = "bench-only passphrase " + "".join(secrets.choice(string.ascii_lowercase) for _ in range(8))
FORM = "application/x-www-form-urlencoded"


# --- processes ----------------------------------------------------------------------------------

@dataclass
class Server:
    """A server we started (its own process group, so that its workers stop with it)."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def start(name: str, port: int, argv: list[str], env: dict[str, str], log: Path, cwd: Path = ROOT) -> Server:
    handle = log.open("wb")
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(name, port, proc, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited at start-up; its log:\n{log.read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/")
            conn.getresponse().read()
            conn.close()
            return server
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise SystemExit(f"{name} did not answer on port {port} within 60 s; its log: {log}")


def gunicorn_argv(workers: int, threads: int, port: int, app: str, *extra: str) -> list[str]:
    """gunicorn with ``workers`` processes; with ``threads`` > 1, the gthread worker (keep-alive)."""
    argv = [str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}", *extra]
    if threads > 1:
        argv += ["-k", "gthread", "--threads", str(threads)]
    help_text = subprocess.run([str(BIN / "gunicorn"), "--help"], capture_output=True, text=True).stdout
    if "--no-control-socket" in help_text:  # gunicorn 24+: one control socket per user otherwise
        argv.append("--no-control-socket")
    return [*argv, app]


# --- HTTP ---------------------------------------------------------------------------------------

def request(port: int, method: str, path: str, body: str | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read().decode("utf-8", "replace")
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@dataclass
class Load:
    """One request shape: what wrk repeats, and the status that counts as a good answer."""

    label: str
    port: int
    path: str
    method: str = "GET"
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    expect: int = 200
    #: The audit action each good answer writes: its new rows are counted against them.
    audited: str | None = None

    def preflight(self) -> str:
        """One request by hand: the load must be of good answers, or it measures nothing."""
        status, _, body = request(self.port, self.method, self.path, self.body or None, self.headers)
        if status != self.expect:
            raise SystemExit(f"{self.label}: expected HTTP {self.expect}, got {status}: {body[:500]}")
        return body


@dataclass
class Result:
    load: Load
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    bad: int
    socket_errors: int
    statuses: dict[str, int]
    stored: int | None = None


def wrk(load: Load, *, seconds: float, connections: int, threads: int) -> Result:
    """One wrk run of ``seconds`` against ``load``; statuses and socket errors as counted by the script."""
    env = {**os.environ, "BENCH_METHOD": load.method, "BENCH_BODY": load.body,
           "BENCH_HEADERS": "\n".join(f"{k}: {v}" for k, v in load.headers.items())}
    out = subprocess.run([WRK, f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "10s",
                          "-s", str(LUA), f"http://127.0.0.1:{load.port}{load.path}"],
                         env=env, capture_output=True, text=True, check=True).stdout
    line = next((ln for ln in out.splitlines() if ln.startswith("BENCH_RESULT ")), None)
    if line is None:
        raise SystemExit(f"{load.label}: no result from wrk:\n{out}")
    r = json.loads(line.removeprefix("BENCH_RESULT "))
    statuses = {str(k): int(v) for k, v in r["statuses"].items()}
    good = statuses.get(str(load.expect), 0)
    socket_errors = sum(int(r[k]) for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    return Result(load, r["requests"] / (r["duration_us"] / 1e6), r["p50_us"] / 1000, r["p99_us"] / 1000,
                  r["requests"], r["requests"] - good, socket_errors, statuses)


# --- the database and the seed ------------------------------------------------------------------

def fresh_database(pg_url: str, name: str = PG_DB) -> str:
    """An empty PostgreSQL database ``name`` on the server of ``pg_url`` (dropped first); its URL."""
    admin = create_engine(make_url(pg_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return make_url(pg_url).set(database=name).render_as_string(False)


def drop_database(pg_url: str, name: str = PG_DB) -> None:
    admin = create_engine(make_url(pg_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def bench_env(url: str, keys_dir: Path) -> dict[str, str]:
    """Production settings with secrets made for this run; the login limit raised (see above)."""
    return {
        **os.environ, "IDSVC_ENV": "production", "IDSVC_DATABASE_URL": url, "IDSVC_ISSUER": ISSUER,
        "IDSVC_KEYS_DIR": str(keys_dir), "IDSVC_SECRET_KEY": secrets.token_urlsafe(48),
        "IDSVC_HASH_KEY": secrets.token_urlsafe(48), "IDSVC_PAIRWISE_KEY": secrets.token_urlsafe(48),
        "IDSVC_LOGIN_RATE_LIMIT": "1000000 per minute", "IDSVC_LOG_LEVEL": "WARNING",
        "IDSVC_RATELIMIT_STORAGE_URI": os.environ.get("IDSVC_RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0"),
    }


def setup_database(env: dict[str, str], scratch: Path) -> None:
    """Migrate, load units and the demo registry, generate keys: the real CLI, in production mode."""
    for args in (["db", "upgrade"], ["units", "sync"],
                 ["registry", "import", str(ROOT / "fixtures" / "demo_citizens.csv"),
                  "--rejects", str(scratch / "rejects-1.csv")],
                 ["registry", "import", str(ROOT / "fixtures" / "demo_population.csv"),
                  "--rejects", str(scratch / "rejects-2.csv")],
                 ["keys", "generate"]):
        subprocess.run([str(BIN / "idsvc"), *args], env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


@dataclass
class Seeded:
    machine: tuple[str, str]
    resource_server: tuple[str, str]
    agency: str


def seed(app: Flask) -> Seeded:
    """Clients and an active level-1 account, through the services (activation sets the password)."""
    from idsvc import db
    from idsvc.identity import service as identity
    from idsvc.oidc import claimsrequest
    from idsvc.oidc import clients
    from idsvc.oidc import consents
    from idsvc.oidc import purposes
    from idsvc.oidc.schemas import client_settings
    from idsvc.registry import service as registry

    with app.app_context(), db.transaction():
        machine = {"auth_method": "client_secret_basic", "grant_types": ["client_credentials"],
                   "scopes": [MACHINE_SCOPE]}
        _, machine_secret = clients.register_client(
            client_settings({"name": "Bench machine client", **machine}), client_id="bench-machine",
            actor="system:bench")
        _, rs_secret = clients.register_client(
            client_settings({"name": "Bench resource server", "is_resource_server": True, **machine}),
            client_id="bench-api", actor="system:bench")
        agency, _ = clients.register_client(client_settings({
            "name": "Bench agency", "auth_method": "client_secret_basic",
            "redirect_uris": ["https://agency.bench.invalid/callback"], "grant_types": ["authorization_code"],
            "scopes": USER_SCOPE.split()}), client_id="bench-agency", actor="system:bench")
        account = identity.create_account(registry.get_citizen_by_number(ID_NUMBER), actor="system:bench")
        code = identity.issue_activation_code(account, actor="system:bench")
        identity.activate(ID_NUMBER, code, PASSWORD)
        offer = consents.offer(account, agency, purposes.resolve(agency, None),
                               claimsrequest.asked(USER_SCOPE.split(), claimsrequest.EMPTY))
        consents.give(account, offer, ticked=offer.shown, level=1)
    assert machine_secret and rs_secret
    return Seeded(("bench-machine", machine_secret), ("bench-api", rs_secret), agency.client_id)


def user_access_token(app: Flask) -> str:
    """An access token of the agency for the account, issued as the code flow issues it (10 min)."""
    from idsvc import db
    from idsvc.identity import service as identity
    from idsvc.oidc import clients
    from idsvc.oidc import issuance
    from idsvc.registry import service as registry

    with app.app_context(), db.transaction():
        account = identity.account_for_citizen(registry.get_citizen_by_number(ID_NUMBER))
        body = issuance.issue_tokens(client=clients.get_client("bench-agency"), account=account,
                                     scope=USER_SCOPE, grant_type="authorization_code", include_refresh=False,
                                     level=1, amr="pwd", auth_time=db.utcnow())
    return body["access_token"]


def audit_count(app: Flask, action: str) -> int:
    from idsvc import db

    with app.app_context():
        return int(db.session().execute(text("SELECT count(*) FROM audit_event WHERE action = :a"),
                                        {"a": action}).scalar_one())


# --- argon2 -------------------------------------------------------------------------------------

def _verify_many(args: tuple[str, str, int, dict[str, Any]]) -> None:
    from argon2 import PasswordHasher
    from argon2 import Type

    stored, password, n, params = args
    hasher = PasswordHasher(**params, hash_len=32, salt_len=16, type=Type.ID)
    for _ in range(n):
        hasher.verify(stored, password)


def argon2_ceiling(processes: int, verifies: int) -> tuple[float, dict[str, int]]:
    """Verifications per second of the production parameters, on ``processes`` processes."""
    from argon2 import PasswordHasher
    from argon2 import Type

    from idsvc.config import load_config

    params = load_config(ROOT / "instance")["PASSWORD_HASH"]
    stored = PasswordHasher(**params, hash_len=32, salt_len=16, type=Type.ID).hash(PASSWORD)
    per = max(verifies // processes, 1)
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        pool.map(_verify_many, [(stored, PASSWORD, 2, params)] * processes)  # warm the workers
        started = time.perf_counter()
        pool.map(_verify_many, [(stored, PASSWORD, per, params)] * processes)
        seconds = time.perf_counter() - started
    return per * processes / seconds, params


# --- the report ---------------------------------------------------------------------------------

@dataclass
class Check:
    """A target: ``value / reference`` at least ``factor`` (at most, for a latency ceiling)."""

    what: str
    value: float
    reference: float
    factor: float = 1.0
    at_most: bool = False

    @property
    def ratio(self) -> float:
        return self.value / self.reference if self.reference else 0.0

    @property
    def ok(self) -> bool:
        return self.ratio <= self.factor if self.at_most else self.ratio >= self.factor


def median_run(runs: list[Result]) -> Result:
    """The run of median throughput (its latencies with it); unexpected answers summed over all runs."""
    ordered = sorted(runs, key=lambda r: r.rps)
    chosen = ordered[(len(ordered) - 1) // 2]
    return Result(chosen.load, chosen.rps, chosen.p50_ms, chosen.p99_ms, sum(r.requests for r in runs),
                  sum(r.bad for r in runs), sum(r.socket_errors for r in runs), chosen.statuses,
                  None if chosen.stored is None else sum(r.stored or 0 for r in runs))


def report(results: dict[str, Result], checks: dict[str, list[Check]]) -> None:
    header = (f"{'endpoint':<34} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'bad':>5}  "
              f"{'target':<42} {'ratio':<20} result")
    print()
    print(header)
    print("-" * len(header))
    for key, r in results.items():
        rows = checks.get(key, [])
        target = "; ".join(c.what for c in rows) or "(baseline)"
        ratio = ", ".join(f"{c.ratio:.2f}x" for c in rows)
        verdict = ("PASS" if all(c.ok for c in rows) else "FAIL") if rows else ""
        print(f"{r.load.label:<34} {r.rps:>8,.0f} {r.p50_ms:>7.1f} {r.p99_ms:>7.1f} {r.bad:>5}  "
              f"{target:<42} {ratio:<20} {verdict}")


# --- main ---------------------------------------------------------------------------------------

WRK = shutil.which("wrk") or "/usr/bin/wrk"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10, help="seconds of load per endpoint")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of unreported load before each")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run every load this many times, in turn; report the median run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (and argon2 processes)")
    parser.add_argument("--worker-threads", type=int, default=1,
                        help="threads per gunicorn worker (gthread worker when above 1), for every gunicorn server")
    parser.add_argument("--only", default="",
                        help="comma-separated loads to run (token, minimal, minimal_writes, op1, op2, introspect, "
                             "hello, jwks, discovery, userinfo, login); default all")
    parser.add_argument("--argon2-verifies", type=int, default=200)
    parser.add_argument("--port", type=int, default=5100, help="first of five consecutive ports")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL server to create the benchmark database on")
    parser.add_argument("--keep-db", action="store_true", help=f"keep the {PG_DB} database afterwards")
    parser.add_argument("--skip-oidc-provider", action="store_true", help="no Node baseline")
    parser.add_argument("--max-error-ratio", type=float, default=0.001,
                        help="largest share of unexpected answers a valid run may have")
    args = parser.parse_args()
    if not Path(WRK).exists():
        raise SystemExit("wrk is needed (apt-get install wrk)")
    node = shutil.which("node")
    if not args.skip_oidc_provider and (node is None or not (NODE_DIR / "node_modules" / "oidc-provider").is_dir()):
        raise SystemExit("oidc-provider is needed: `npm ci --prefix bench/oidc-provider` (Node >= 20), "
                         "or pass --skip-oidc-provider")

    scratch = Path(tempfile.mkdtemp(prefix="idsvc-bench-"))
    servers: list[Server] = []
    url = fresh_database(args.pg_url)
    try:
        env = bench_env(url, scratch / "keys")
        print(f"database {PG_DB}: migrating, loading the demo registry, generating keys ...", flush=True)
        setup_database(env, scratch)
        os.environ.update({k: v for k, v in env.items() if k.startswith("IDSVC_")})
        from idsvc import create_app
        from idsvc.audit.tags import AuditAction

        app = create_app()
        seeded = seed(app)
        port = args.port
        others = "" if args.skip_oidc_provider else f", oidc-provider x1 and x{args.workers}"
        print(f"serving idsvc, minimal Authlib (with and without writes){others} (ports {port}-{port + 4}) ...",
              flush=True)
        servers.append(start("idsvc", port, gunicorn_argv(args.workers, args.worker_threads, port, "wsgi:app"), env,
                             scratch / "idsvc.log"))
        baseline_secret = secrets.token_urlsafe(32)
        servers.append(start("minimal Authlib", port + 1,
                             gunicorn_argv(args.workers, args.worker_threads, port + 1, "minimal_authlib:app",
                                           "--chdir", str(BENCH)),
                             {**os.environ, "BENCH_CLIENT_ID": "bench-machine",
                              "BENCH_CLIENT_SECRET": baseline_secret, "BENCH_SIGNING_KEY": _pem()},
                             scratch / "minimal.log"))
        servers.append(start("minimal Authlib + writes", port + 4,
                             gunicorn_argv(args.workers, args.worker_threads, port + 4, "minimal_authlib:app",
                                           "--chdir", str(BENCH)),
                             {**os.environ, "BENCH_CLIENT_ID": "bench-machine", "BENCH_CLIENT_SECRET": baseline_secret,
                              "BENCH_SIGNING_KEY": _pem(), "BENCH_DATABASE_URL": url,
                              "BENCH_DB_CLIENT_ID": seeded.machine[0]},
                             scratch / "minimal-writes.log"))
        node_counts = [] if args.skip_oidc_provider else [1, args.workers]
        for i, n in enumerate(node_counts):
            servers.append(start(f"oidc-provider x{n}", port + 2 + i, [str(node), "provider.mjs"],
                                 {**os.environ, "NODE_ENV": "production", "PORT": str(port + 2 + i),
                                  "PROCESSES": str(n), "CLIENT_ID": "bench-machine",
                                  "CLIENT_SECRET": baseline_secret, "SCOPE": MACHINE_SCOPE},
                                 scratch / f"oidc-provider-{n}.log", cwd=NODE_DIR))

        cc_body = urlencode({"grant_type": "client_credentials", "scope": MACHINE_SCOPE})
        baseline_auth = {"Authorization": basic("bench-machine", baseline_secret), "Content-Type": FORM}
        loads = {"token": Load("idsvc token (client_credentials)", port, "/token", "POST", cc_body,
                               {"Authorization": basic(*seeded.machine), "Content-Type": FORM},
                               audited=AuditAction.OIDC_TOKEN_ISSUE),
                 "minimal": Load("minimal Authlib token", port + 1, "/token", "POST", cc_body,
                                 baseline_auth),
                 "minimal_writes": Load("minimal Authlib + same writes", port + 4, "/token", "POST", cc_body,
                                        baseline_auth)}
        for i, n in enumerate(node_counts):
            loads[f"op{n}"] = Load(f"oidc-provider token, {n} process{'es' if n > 1 else ''}", port + 2 + i,
                                   "/token", "POST", cc_body, baseline_auth)
        loads["introspect"] = Load("idsvc introspection", port, "/introspect", "POST")
        loads["hello"] = Load("bare Flask (hello)", port + 1, "/hello")
        loads["jwks"] = Load("idsvc JWKS", port, "/jwks.json")
        loads["discovery"] = Load("idsvc discovery", port, "/.well-known/openid-configuration")
        loads["userinfo"] = Load("idsvc userinfo", port, "/userinfo", audited=AuditAction.OIDC_CLAIMS_RELEASE)
        status, headers, page = request(port, "GET", "/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
        if status != 200 or csrf is None or "set-cookie" not in headers:
            raise SystemExit(f"GET /login gave no CSRF token and cookie (HTTP {status})")
        loads["login"] = Load(
            "idsvc password login", port, "/login", "POST",
            urlencode({"csrf_token": csrf.group(1), "id_number": ID_NUMBER, "password": PASSWORD, "next": "/account"}),
            {"Cookie": headers["set-cookie"].split(";", 1)[0], "Content-Type": FORM}, expect=302,
            audited=AuditAction.IDENTITY_LOGIN_SUCCESS)

        token_load = loads["token"]
        if args.only:
            wanted = set(args.only.split(","))
            if unknown := wanted - set(loads):
                raise SystemExit(f"--only: unknown loads {sorted(unknown)}; known: {sorted(loads)}")
            loads = {key: load for key, load in loads.items() if key in wanted}
        runs: dict[str, list[Result]] = {key: [] for key in loads}
        ceilings: list[float] = []
        params: dict[str, int] = {}
        for round_ in range(1, args.rounds + 1):
            print(f"round {round_} of {args.rounds}:", flush=True)
            # Access tokens live 10 minutes: fresh ones every round.
            machine_token = json.loads(token_load.preflight())["access_token"]
            if "introspect" in loads:
                loads["introspect"].body = urlencode({"token": machine_token, "token_type_hint": "access_token"})
                loads["introspect"].headers = {"Authorization": basic(*seeded.resource_server), "Content-Type": FORM}
            if "userinfo" in loads:
                loads["userinfo"].headers = {"Authorization": f"Bearer {user_access_token(app)}"}
            for key, load in loads.items():
                load.preflight()
                print(f"  {load.label} ...", flush=True)
                if args.warmup > 0:
                    wrk(load, seconds=args.warmup, connections=args.connections, threads=args.threads)
                before = audit_count(app, str(load.audited)) if load.audited else 0
                r = wrk(load, seconds=args.duration, connections=args.connections, threads=args.threads)
                if load.audited:
                    r.stored = audit_count(app, str(load.audited)) - before
                runs[key].append(r)
            if "login" not in loads:
                continue
            # Right after the login load, so that both meet the same machine.
            print(f"  argon2 ceiling ({args.workers} processes, {args.argon2_verifies} verifications) ...", flush=True)
            ceiling, params = argon2_ceiling(args.workers, args.argon2_verifies)
            ceilings.append(ceiling)
    finally:
        for server in reversed(servers):
            server.stop()
        if not args.keep_db:
            drop_database(args.pg_url)
        shutil.rmtree(scratch, ignore_errors=True)

    results = {key: median_run(rs) for key, rs in runs.items()}
    rps = {key: r.rps for key, r in results.items()}
    checks: dict[str, list[Check]] = {
        "introspect": [Check(">=3,000/s", rps.get("introspect", 0), 3000)],
        "jwks": [Check(">=5,000/s", rps.get("jwks", 0), 5000)],
        "discovery": [Check(">=5,000/s", rps.get("discovery", 0), 5000)],
        "userinfo": [Check(">=1,500/s", rps.get("userinfo", 0), 1500)],
    }
    if ceilings:
        ceiling = sorted(ceilings)[(len(ceilings) - 1) // 2]
        checks["login"] = [Check(f">=0.9x argon2 ceiling ({ceiling:.0f}/s)", rps["login"], ceiling, 0.9)]
    if "token" in results:
        token = results["token"]
        checks["token"] = []
        if "minimal" in results:
            checks["token"].append(Check(">=0.8x minimal", token.rps, rps["minimal"], 0.8))
        if f"op{args.workers}" in results:
            checks["token"].append(Check(f">=0.5x op x{args.workers}", token.rps, rps[f"op{args.workers}"], 0.5))
        checks["token"].append(Check("p99<40ms", token.p99_ms, 40.0, at_most=True))
    report(results, checks)
    context = [(f"{a} / {b}", rps[a] / rps[b]) for a, b in
               (("token", "minimal_writes"), ("jwks", "hello"), ("discovery", "hello")) if a in rps and b in rps]
    if context:
        print("\ncontext (not targets): " + "; ".join(f"{what} = {ratio:.2f}x" for what, ratio in context))
    if ceilings:
        print(f"\nargon2id m={params['memory_cost']} KiB t={params['time_cost']} p={params['parallelism']}: "
              f"{ceiling:.1f} verifications/s on {args.workers} processes.")
    print(f"ratio: measured / reference (p99: measured / 40 ms). wrk: {args.connections} connections, "
          f"{args.threads} threads, {args.duration:g} s per endpoint after {args.warmup:g} s of warm-up, "
          f"{args.rounds} round(s); gunicorn: {args.workers} workers, "
          + (f"gthread, {args.worker_threads} threads each." if args.worker_threads > 1 else "sync."))

    invalid = []
    for r in results.values():
        if (r.bad + r.socket_errors) / max(r.requests, 1) > args.max_error_ratio:
            invalid.append(f"{r.load.label}: {r.bad} of {r.requests} answers were not HTTP {r.load.expect} "
                           f"(statuses of the median run: {r.statuses}), {r.socket_errors} socket errors")
        if r.stored is not None:
            good = r.requests - r.bad
            print(f"{r.load.label}: {r.stored:,} audit events written for {good:,} good answers counted by wrk")
            if r.stored < good * (1 - args.max_error_ratio):
                invalid.append(f"{r.load.label}: only {r.stored} audit events for {good} good answers")
    if invalid:
        print("\nINVALID RUN (a benchmark of error answers measures nothing):\n  " + "\n  ".join(invalid))
        raise SystemExit(1)


def _pem() -> str:
    """A fresh P-256 key (PEM) shared by the baseline's workers."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


if __name__ == "__main__":
    main()
