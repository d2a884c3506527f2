"""The audit ledger: what it costs writers and requests, and how long `idsvc audit verify` takes.

On a database of its own (PostgreSQL ``idsvc_bench_ledger``, and/or an SQLite file under
``bench/out/``), migrated, with the demo registry and keys made by the real CLI in production mode
(``bench_oidc.py``'s set-up, and ``idsvc audit rotate-key`` for the ledger key; development mode
on SQLite, which production refuses):

1. audit events per second accepted from 2 worker processes (each event its own transaction, as a
   request writes it), without and with a sealer (``idsvc audit seal --follow --every 1``) running
   beside them; how many events were left unsealed at the end;
2. the CPU of ``GET /userinfo`` (the app's test client, in this process: registry read, audit
   event) without and with the sealer running, and the sealer's own CPU per event it sealed;
3. ``idsvc audit seal`` and ``idsvc audit verify`` of 1,000,000 events generated set-based: wall
   time, events/s, peak memory of the process (verify streams: its memory must not grow with the log).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine
from sqlalchemy import text

if TYPE_CHECKING:
    from flask import Flask

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import bench_oidc  # noqa: E402
from bench_oidc import BIN  # noqa: E402
from bench_oidc import bench_env  # noqa: E402
from bench_oidc import seed  # noqa: E402
from bench_oidc import setup_database  # noqa: E402
from bench_oidc import user_access_token  # noqa: E402

PG_DB = "idsvc_bench_ledger"
OUT = BENCH / "out"


def fresh_database(engine: str, pg_url: str) -> str:
    if engine == "sqlite":
        OUT.mkdir(exist_ok=True)
        path = OUT / "ledger.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    return bench_oidc.fresh_database(pg_url, PG_DB)


def idsvc(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "idsvc"), *args], env=env, check=True, capture_output=True, text=True)


def startup_cpu(env: dict[str, str]) -> float:
    """CPU seconds of an ``idsvc audit seal`` that finds nothing to seal: the process's start-up,
    taken off the sealer's CPU below."""
    proc = subprocess.Popen([str(BIN / "idsvc"), "audit", "seal"], env=env, stdout=subprocess.DEVNULL)
    _, _, usage = os.wait4(proc.pid, 0)
    return usage.ru_utime + usage.ru_stime


class Sealer:
    """``idsvc audit seal --follow`` in the background (given time to start before the load); its
    CPU is read when it stops."""

    def __init__(self, env: dict[str, str], every: float = 1.0) -> None:
        self.proc = subprocess.Popen([str(BIN / "idsvc"), "audit", "seal", "--follow", "--every", str(every)],
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(4)

    def stop(self) -> tuple[float, str]:
        """CPU seconds it used, and its output."""
        self.proc.send_signal(signal.SIGINT)
        try:
            _, status, usage = os.wait4(self.proc.pid, 0)
        except ChildProcessError:
            return 0.0, ""
        self.proc.returncode = status
        output = self.proc.stdout.read() if self.proc.stdout else ""
        return usage.ru_utime + usage.ru_stime, output


def sealed_in(output: str) -> int:
    return sum(int(line.split(" sealed ")[1].split()[0]) for line in output.splitlines() if " sealed " in line)


# --- 1. events/s from two writer processes -----------------------------------------------------

def _writer(args: tuple[dict[str, str], float]) -> int:
    env, seconds = args
    os.environ.update(env)
    from idsvc import create_app
    from idsvc import db
    from idsvc.audit import service as audit
    from idsvc.audit.tags import AuditAction

    app = create_app()
    written = 0
    with app.app_context():
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with db.transaction():
                audit.record(AuditAction.OIDC_USERINFO_READ, actor="client:bench-agency", subject_type="account",
                             subject_id=written, data={"claims": ["name", "birthdate"], "via": "userinfo"})
            written += 1
    return written


def writers(env: dict[str, str], seconds: float, processes: int = 2) -> float:
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        pool.map(_writer, [(env, 0.5)] * processes)  # warm: imports, the app, connections
        started = time.perf_counter()
        counts = pool.map(_writer, [(env, seconds)] * processes)
        elapsed = time.perf_counter() - started
    return sum(counts) / elapsed


def unsealed(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM audit_event WHERE seq IS NULL")).scalar_one()
    engine.dispose()
    return int(count)


# --- 2. CPU per userinfo request ----------------------------------------------------------------

def userinfo_cpu(app: Flask, token: str, requests: int) -> float:
    """CPU seconds of this process per request (the app's test client: the whole Flask request)."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(50):  # warm
        assert client.get("/userinfo", headers=headers).status_code == 200
    started = time.process_time()
    for _ in range(requests):
        client.get("/userinfo", headers=headers)
    return (time.process_time() - started) / requests


# --- 3. seal and verify a million events --------------------------------------------------------

GENERATE = {
    "postgresql": """
        INSERT INTO audit_event (at, action, actor, subject_type, subject_id, ip, data)
        SELECT now() - make_interval(secs => :count - g), 'oidc:userinfo:read', 'client:agency-' || (g % 50),
               'account', (g % 100000)::text, '10.0.' || (g % 250) || '.' || (g % 7),
               json_build_object('claims', json_build_array('name', 'birthdate'), 'via', 'userinfo', 'n', g)
        FROM generate_series(1, :count) AS g""",
    "sqlite": """
        WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < :count)
        INSERT INTO audit_event (at, action, actor, subject_type, subject_id, ip, data)
        SELECT strftime('%Y-%m-%d %H:%M:%f000', 'now', '-' || (:count - n) || ' seconds'), 'oidc:userinfo:read',
               'client:agency-' || (n % 50), 'account', CAST(n % 100000 AS TEXT),
               '10.0.' || (n % 250) || '.' || (n % 7),
               json_object('claims', json_array('name', 'birthdate'), 'via', 'userinfo', 'n', n)
        FROM g""",
}


def timed(env: dict[str, str], *args: str) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds, peak RSS (MiB) of an ``idsvc`` command, and its output."""
    started = time.perf_counter()
    proc = subprocess.Popen([str(BIN / "idsvc"), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    output = proc.stdout.read() if proc.stdout else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"idsvc {' '.join(args)} failed:\n{output}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, output


def million(engine: str, env: dict[str, str], url: str, count: int) -> None:
    db = create_engine(url)
    started = time.perf_counter()
    with db.begin() as conn:
        conn.execute(text(GENERATE[engine]), {"count": count})
    print(f"  generated {count:,} events set-based in {time.perf_counter() - started:.1f} s", flush=True)
    db.dispose()
    for label, args in (("seal", ("audit", "seal")), ("verify", ("audit", "verify", "--quiet"))):
        seconds, cpu, rss, output = timed(env, *args)
        print(f"  idsvc audit {label:<6}: {seconds:6.1f} s  {count / seconds:9,.0f} events/s  CPU {cpu:6.1f} s "
              f"({cpu / count * 1e6:5.1f} us/event)  peak {rss:,.0f} MiB  ({output.strip().splitlines()[-1]})",
              flush=True)


# --- the run ------------------------------------------------------------------------------------

def run(engine: str, args: argparse.Namespace) -> None:
    print(f"\n== {engine} ==", flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="idsvc-bench-ledger-"))
    url = fresh_database(engine, args.pg_url)
    try:
        env = {**bench_env(url, scratch / "keys"), "IDSVC_LOG_LEVEL": "WARNING"}
        if engine == "sqlite":  # production mode refuses SQLite
            env["IDSVC_ENV"] = "development"
        print("migrating, loading the demo registry, generating keys ...", flush=True)
        setup_database(env, scratch)
        idsvc(env, "audit", "rotate-key")
        idsvc(env, "audit", "seal")
        idsvc_env = {k: v for k, v in env.items() if k.startswith("IDSVC_")}
        start_cpu = startup_cpu(env)

        print(f"1. audit events accepted from 2 writer processes ({args.duration:g} s each way)", flush=True)
        bare = writers(idsvc_env, args.duration)
        idsvc(env, "audit", "seal")
        sealer = Sealer(env)
        with_sealer = writers(idsvc_env, args.duration)
        left = unsealed(url)
        cpu, output = sealer.stop()
        print(f"   without a sealer: {bare:8,.0f} events/s")
        print(f"   with the sealer:  {with_sealer:8,.0f} events/s  ({with_sealer / bare - 1:+.1%}); sealer CPU "
              f"{cpu - start_cpu:.2f} s (start-up of {start_cpu:.2f} s taken off) for {sealed_in(output):,} events; "
              f"{left:,} unsealed when the writers stopped", flush=True)
        idsvc(env, "audit", "seal")

        print(f"2. CPU per GET /userinfo (test client, {args.requests:,} requests each way)", flush=True)
        os.environ.update(idsvc_env)
        from idsvc import create_app

        app = create_app()
        seed(app)
        token = user_access_token(app)
        idsvc(env, "audit", "seal")
        without = userinfo_cpu(app, token, args.requests)
        sealer = Sealer(env)
        with_ledger = userinfo_cpu(app, token, args.requests)
        time.sleep(1.5)  # its last round
        cpu, output = sealer.stop()
        sealed = sealed_in(output)
        cpu -= start_cpu
        per_event = cpu / sealed if sealed else float("nan")
        print(f"   request, sealer stopped: {without * 1e3:6.3f} ms CPU")
        print(f"   request, sealer running: {with_ledger * 1e3:6.3f} ms CPU  ({with_ledger / without - 1:+.1%})")
        print(f"   sealer: {cpu:.2f} s CPU for {sealed:,} events (start-up taken off) = "
              f"{per_event * 1e3:.3f} ms per event", flush=True)
        db_dispose(app)

        print(f"3. {args.events:,} events: seal, then verify", flush=True)
        million(engine, env, url, args.events)
    finally:
        if engine == "postgresql" and not args.keep_db:
            bench_oidc.drop_database(args.pg_url, PG_DB)


def db_dispose(app: Flask) -> None:
    from idsvc import db

    db.get_db(app).engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--duration", type=float, default=10, help="seconds of writing, each way")
    parser.add_argument("--requests", type=int, default=2000, help="userinfo requests, each way")
    parser.add_argument("--events", type=int, default=1_000_000, help="events generated for seal and verify")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep-db", action="store_true", help=f"keep the {PG_DB} database afterwards")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; resource limit of memory: "
          f"{resource.getrlimit(resource.RLIMIT_AS)[0]}", flush=True)
    for engine in (["postgresql", "sqlite"] if args.engine == "both" else [args.engine]):
        run(engine, args)


if __name__ == "__main__":
    main()
