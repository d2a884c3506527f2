"""Latency of a citizen look-up by ID number through the registry service layer.

Builds (once, then reuses) a registry of ``--count`` generated citizens per engine with the
real CLI (generate + import), then times ``--lookups`` calls of
``registry.service.get_citizen_by_number`` for random existing numbers, each with a cold
identity map (as in a fresh request), and prints median / p95 / p99.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy import make_url
from sqlalchemy import select
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
IDSVC = str(Path(sys.executable).parent / "idsvc")
PG_DB = "idsvc_bench_lookup"


def _idsvc(url: str, *args: str) -> None:
    env = {**os.environ, "IDSVC_DATABASE_URL": url}
    subprocess.run([IDSVC, *args], check=True, env=env, stdout=subprocess.DEVNULL)


def _populated(url: str, count: int, population: Path) -> None:
    from idsvc.config import normalise_database_url

    engine = create_engine(normalise_database_url(url))
    try:
        with engine.connect() as conn:
            have = conn.execute(text("SELECT count(*) FROM citizen")).scalar()
    except Exception:
        have = None
    engine.dispose()
    if have == count:
        return
    print(f"  building a registry of {count:,} citizens ...", flush=True)
    _idsvc(url, "db", "upgrade")
    _idsvc(url, "units", "sync")
    if not population.exists():
        _idsvc(url, "population", "generate", "--count", str(count), "--seed", "7", "--out", str(population))
    _idsvc(url, "registry", "import", str(population), "--rejects", str(population) + ".rejects.csv")


def measure(url: str, lookups: int) -> list[float]:
    from idsvc import create_app
    from idsvc import db
    from idsvc.registry import service
    from idsvc.registry.models import Citizen

    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        s = db.session()
        numbers = list(s.scalars(select(Citizen.id_number).limit(200_000)))
        rng = random.Random(1)
        sample = [rng.choice(numbers) for _ in range(lookups)]
        for number in sample[:500]:  # warm the pool and the statement cache
            service.get_citizen_by_number(number)
            s.expunge_all()
        timings = []
        for number in sample:
            start = time.perf_counter_ns()
            citizen = service.get_citizen_by_number(number)
            timings.append((time.perf_counter_ns() - start) / 1e6)
            assert citizen.id_number == number
            s.expunge_all()
            s.rollback()
    return timings


def report(name: str, timings: list[float]) -> None:
    q = statistics.quantiles(timings, n=100)
    print(f"{name:<11} lookups={len(timings):,}  median={statistics.median(timings):.3f} ms  "
          f"p95={q[94]:.3f} ms  p99={q[98]:.3f} ms  (target: median < 1 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1_000_000, help="citizens in the registry")
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL server to create the benchmark database on ('' to skip)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    population = OUT / f"population-{args.count}.csv"
    engines = [("sqlite", f"sqlite:///{OUT / f'lookup-{args.count}.sqlite3'}")]
    if args.pg_url:
        admin = create_engine(make_url(args.pg_url).set(drivername="postgresql+psycopg"),
                              isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": PG_DB}).scalar():
                conn.execute(text(f"CREATE DATABASE {PG_DB}"))
        admin.dispose()
        engines.append(("postgresql", make_url(args.pg_url).set(database=PG_DB).render_as_string(False)))
    for name, url in engines:
        print(f"{name}:")
        _populated(url, args.count, population)
        report(name, measure(url, args.lookups))


if __name__ == "__main__":
    main()
