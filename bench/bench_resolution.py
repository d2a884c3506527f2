"""Identity resolution through the database: ``resolution.resolve_all`` on a generated registry.

Builds (once, then reuses) a registry of ``--count`` generated citizens per engine with the real
CLI (generate + import), rebuilds the block-key index (``idsvc eligibility index``, timed), then
resolves ``--rows`` noisy applicant rows (``matching_noise``; ``--outsider-share`` of them from
people not in the registry, with no number) in one ``resolve_all`` call, and prints the time, the
statements sent, the peak memory of the process and the quality as ``bench_matching.py`` counts
it (a ``DATA_MISMATCH`` holder counts as a clerk's review, not a match).

    .venv/bin/python bench/bench_resolution.py --count 200000 --rows 10000
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy import make_url
from sqlalchemy import select
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_lookup import OUT
from bench_lookup import _populated
from bench_matching import Results
from matching_noise import NoisyRow
from matching_noise import noisy

PG_DB = "idsvc_bench_resolution"


def rows_for(count: int, n: int, outsider_share: float, seed: int) -> tuple[list[NoisyRow], list[str]]:
    from idsvc.population.generator import generate
    from idsvc.registry.units import communes_2025

    registered = list(generate(count, 7))  # the seed bench_lookup's registry is generated with
    outside = [{**r, "citizen_id": ""} for r in generate(max(1000, n // 5), 1000 + seed)]
    province_of = {u.code: u.province_code or "" for u in communes_2025()}
    communes_of: dict[str, list[str]] = defaultdict(list)
    for code, province in province_of.items():
        communes_of[province].append(code)
    all_communes = sorted(province_of)
    by_household: dict[str, list[str]] = defaultdict(list)
    for r in registered:
        by_household[r["household_id"]].append(r["citizen_id"])
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        if rng.random() < outsider_share:
            src, truth = rng.choice(outside), None
        else:
            truth = rng.randrange(len(registered))
            src = registered[truth]
        others = [x for x in by_household.get(src["household_id"], []) if x != src["citizen_id"]] or [
            rng.choice(registered)["citizen_id"]]
        row = noisy(src, truth, rng, province_of, communes_of, all_communes, others)
        out.append(row)
    return out, [r["citizen_id"] for r in registered]


def measure(url: str, rows: list[NoisyRow], numbers: list[str]) -> None:
    from idsvc import create_app
    from idsvc import db
    from idsvc.eligibility import blockindex
    from idsvc.eligibility.applicants import applicant
    from idsvc.eligibility.resolution import resolve_all
    from idsvc.registry.models import Citizen

    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        started = time.perf_counter()
        with db.transaction():
            indexed = blockindex.rebuild_index()
        blockindex.vacuum()
        print(f"  index: {indexed:,} citizens in {time.perf_counter() - started:.1f} s")
        s = db.session()
        wanted = {numbers[r.truth] for r in rows if r.truth is not None}
        internal: dict[str, int] = {}
        chunk = sorted(wanted)
        for i in range(0, len(chunk), 500):
            internal.update(s.execute(select(Citizen.id_number, Citizen.id)
                                      .where(Citizen.id_number.in_(chunk[i:i + 500]))).all())
        s.rollback()
        today = date(2026, 12, 5)
        applicants = [applicant({
            "ref": str(i), "citizen_id": r.person.id_number or "", "full_name": r.person.full_name,
            "date_of_birth": str(r.person.born) if r.person.born else "", "commune_code": r.person.commune or ""},
            i + 1, today=today) for i, r in enumerate(rows)]
        statements = [0]

        def count(*_args: object) -> None:
            statements[0] += 1

        engine = s.get_bind()
        event.listen(engine, "before_cursor_execute", count)
        started = time.perf_counter()
        with db.transaction():
            got = resolve_all(applicants, on=today)
        elapsed = time.perf_counter() - started
        event.remove(engine, "before_cursor_execute", count)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  resolve_all: {len(rows):,} rows in {elapsed:.2f} s ({len(rows) / elapsed:,.0f} rows/s), "
              f"{statements[0]} statements, peak memory {peak:.0f} MB")
        results = Results()
        for row, res in zip(rows, got, strict=True):
            truth = internal.get(numbers[row.truth]) if row.truth is not None else None
            mismatch = any(r.startswith("DATA_MISMATCH") for r in res.reasons)
            decision = "review" if res.match == "review" or mismatch else (
                "no match" if res.citizen_id is None else "match")
            chosen = res.candidates[0] if res.match == "review" and res.candidates else res.citizen_id
            results.add(NoisyRow(row.person, truth, row.labels), decision, chosen)
        print("  " + results.overall.line("resolve_all, all rows"))
        print("  " + results.no_id.line("resolve_all, no usable ID"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=200_000)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--outsider-share", type=float, default=0.10)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    population = OUT / f"population-{args.count}.csv"
    engines = []
    if args.engine in ("sqlite", "both"):
        engines.append(("sqlite", f"sqlite:///{OUT / f'resolution-{args.count}.sqlite3'}"))
    if args.engine in ("postgresql", "both"):
        admin = create_engine(make_url(args.pg_url).set(drivername="postgresql+psycopg"),
                              isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": PG_DB}).scalar():
                conn.execute(text(f"CREATE DATABASE {PG_DB}"))
        admin.dispose()
        engines.append(("postgresql", make_url(args.pg_url).set(database=PG_DB).render_as_string(False)))
    rows, numbers = rows_for(args.count, args.rows, args.outsider_share, args.seed)
    for name, url in engines:
        print(f"{name}:")
        _populated(url, args.count, population)
        measure(url, rows, numbers)


if __name__ == "__main__":
    main()
