"""Throughput and peak memory of ``idsvc registry import`` on SQLite and PostgreSQL.

Generates ``--count`` citizens once (``idsvc population generate``, cached under ``bench/out/``),
then for each engine: a fresh database, ``db upgrade`` + ``units sync``, and the import as a real
child process, timed from outside; its peak resident memory comes from ``wait4``. A second run of
the same file (everything already present) is timed as well, and then ``--initial-load`` into
another fresh database.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy import make_url
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
IDSVC = str(Path(sys.executable).parent / "idsvc")
PG_DB = "idsvc_bench_import"
TARGETS = {"sqlite": 25_000, "postgresql": 50_000}


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "IDSVC_DATABASE_URL": url}


def _idsvc(url: str, *args: str) -> None:
    subprocess.run([IDSVC, *args], check=True, env=_env(url), stdout=subprocess.DEVNULL)


def _fresh(name: str, pg_url: str, count: int) -> str:
    if name == "sqlite":
        path = OUT / f"import-{count}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        admin = create_engine(make_url(pg_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {PG_DB}"))
        admin.dispose()
        url = make_url(pg_url).set(database=PG_DB).render_as_string(False)
    _idsvc(url, "db", "upgrade")
    _idsvc(url, "units", "sync")
    return url


def timed_import(url: str, population: Path, *options: str) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, the command's summary line) of one import run."""
    start = time.perf_counter()
    proc = subprocess.Popen([IDSVC, "registry", "import", *options, str(population),
                             "--rejects", str(OUT / "rejects.csv")],
                            env=_env(url), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    summary = proc.stdout.read().strip() if proc.stdout else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"import failed: {summary}")
    return seconds, usage.ru_maxrss / 1024, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL server to create the benchmark database on ('' to skip)")
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], action="append",
                        help="measure only this engine (repeatable)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    population = OUT / f"population-{args.count}.csv"
    if not population.exists():
        print(f"generating {args.count:,} citizens ...", flush=True)
        subprocess.run([IDSVC, "population", "generate", "--count", str(args.count), "--seed", "7",
                        "--out", str(population)], check=True, stderr=subprocess.DEVNULL)
    size_mb = population.stat().st_size / 1e6
    print(f"input: {population.name}, {args.count:,} rows, {size_mb:,.0f} MB; {os.cpu_count()} CPUs")
    engines = args.engine or (["sqlite", "postgresql"] if args.pg_url else ["sqlite"])
    for name in engines:
        url = _fresh(name, args.pg_url, args.count)
        seconds, rss, summary = timed_import(url, population)
        again, rss_again, _ = timed_import(url, population)
        print(f"{name:<10} first run: {seconds:7.1f} s  {args.count / seconds:9,.0f} rows/s  peak RSS {rss:5.0f} MB"
              f"   (target >= {TARGETS[name]:,} rows/s, < 300 MB)")
        print(f"{'':<10} re-run:    {again:7.1f} s  {args.count / again:9,.0f} rows/s  peak RSS {rss_again:5.0f} MB"
              "   (nothing new: every row already present)")
        print(f"{'':<10} {summary}")
        url = _fresh(name, args.pg_url, args.count)
        seconds, rss, summary = timed_import(url, population, "--initial-load")
        print(f"{'':<10} initial load: {seconds:4.1f} s  {args.count / seconds:9,.0f} rows/s  peak RSS {rss:5.0f} MB"
              "   (empty registry, one transaction, indexes and foreign keys built at the end)")


if __name__ == "__main__":
    main()
