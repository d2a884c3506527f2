"""Latency of a "Who used my data" page (``mydata.activity.entries``) in a large audit trail.

Builds (once, then reuses) a database per engine holding ``--events`` audit events of other
people and ``--own`` events of one person (logins, releases, programme checks, office reads,
spread over a year), then times, each with a cold identity map (as in a fresh request):
the first page, a page deep in the history (following the cursors), one kind, and one month.
Prints median / p95 in milliseconds.

    python bench/bench_mydata.py                       # SQLite, and PostgreSQL when it answers
    python bench/bench_mydata.py --events 2000000 --own 20000
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy import insert
from sqlalchemy import make_url
from sqlalchemy import select
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
IDSVC = str(Path(sys.executable).parent / "idsvc")
PG_URL = os.environ.get("IDSVC_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_DB = "idsvc_bench_mydata"
OWN_NUMBER = "001090099901"
START = datetime(2026, 1, 1, tzinfo=UTC)


def _idsvc(url: str, *args: str) -> None:
    subprocess.run([IDSVC, *args], check=True, env={**os.environ, "IDSVC_DATABASE_URL": url},
                   stdout=subprocess.DEVNULL)


def _count(url: str) -> int | None:
    from idsvc.config import normalise_database_url

    engine = create_engine(normalise_database_url(url))
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM audit_event")).scalar()
    except Exception:
        return None
    finally:
        engine.dispose()


def _build(url: str, events: int, own: int) -> None:
    if _count(url) == events + own:
        return
    print(f"  building {events:,} events of others and {own:,} of the person ...", flush=True)
    _idsvc(url, "db", "upgrade")
    _idsvc(url, "units", "sync")
    from idsvc import create_app
    from idsvc import db
    from idsvc.audit.models import AuditEvent
    from idsvc.identity.models import Account
    from idsvc.registry.models import Citizen

    app = create_app({"DATABASE_URL": url}, serving=False)
    rng = random.Random(7)
    with app.app_context():
        s = db.session()
        s.execute(text("DELETE FROM audit_event"))
        citizen = s.scalar(select(Citizen).where(Citizen.id_number == OWN_NUMBER))  # from a smaller build
        if citizen is None:
            citizen = Citizen(id_number=OWN_NUMBER, full_name="Nguyễn Văn Đo", name_folded="nguyen van do",
                              birth_year=1990, sex="M", birth_registration_code="001", nationality="VN",
                              status="alive")
            s.add(citizen)
            s.flush()
        account = s.scalar(select(Account).where(Account.citizen_id == citizen.id))
        if account is None:
            account = Account(citizen_id=citizen.id, status="active", level=1)
            s.add(account)
            s.flush()
        kinds = [("identity:login:success", "account", {"level": 1}),
                 ("oidc:claims:release", "account", {"claims": ["name"], "purpose": "login", "via": "userinfo",
                                                     "client": "c"}),
                 ("eligibility:person:check", "citizen", {"programme": "p", "verdict": "ELIGIBLE"}),
                 ("registry:person:read", "citizen", {"role": "clerk", "unit": "00070"})]
        year = 365 * 24 * 3600
        rows: list[dict[str, object]] = []

        def flush() -> None:
            if rows:
                s.execute(insert(AuditEvent), rows)
                rows.clear()

        step = (events + own) // own if own else 0
        for i in range(events + own):
            action, subject_type, data = kinds[i % len(kinds)]
            mine = bool(step) and i % step == 0
            subject = (account.id if subject_type == "account" else citizen.id) if mine else rng.randrange(10**6)
            rows.append({"at": START + timedelta(seconds=rng.randrange(year)), "action": action,
                         "actor": "client:c", "subject_type": subject_type, "subject_id": str(subject), "data": data})
            if len(rows) == 10_000:
                flush()
        flush()
        s.commit()
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("ANALYZE audit_event"))
            s.commit()


def _timed(fn: Callable[[], object], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times


def measure(url: str, runs: int) -> None:
    from idsvc import create_app
    from idsvc import db
    from idsvc.identity.models import Account
    from idsvc.mydata import activity
    from idsvc.registry.models import Citizen

    app = create_app({"DATABASE_URL": url}, serving=False)
    with app.app_context():
        s = db.session()
        account_id = s.execute(text("SELECT a.id FROM account a JOIN citizen c ON c.id = a.citizen_id "
                                    "WHERE c.id_number = :n"), {"n": OWN_NUMBER}).scalar_one()

        def page(filters: activity.Filters | None = None, after: str | None = None) -> activity.Page:
            s.expunge_all()
            account = s.get(Account, account_id)
            assert account is not None and s.get(Citizen, account.citizen_id) is not None
            return activity.entries(account, filters or activity.Filters(), after=after)

        deep = None
        first = page()
        for _ in range(20):
            if first.next_cursor is None:
                break
            deep = first.next_cursor
            first = page(after=deep)
        cases = {
            "first page": lambda: page(),
            "page 21 (cursors)": lambda: page(after=deep),
            "one kind (checks)": lambda: page(activity.Filters.parse(["check"])),
            "one month": lambda: page(activity.Filters.parse((), "2026-06-01", "2026-06-30")),
        }
        for name, fn in cases.items():
            times = _timed(fn, runs)
            print(f"  {name:20} median {statistics.median(times):7.1f} ms   "
                  f"p95 {sorted(times)[int(len(times) * 0.95) - 1]:7.1f} ms   ({len(fn().entries)} entries)")
        s.rollback()
    db.get_db(app).engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="audit events of other people")
    parser.add_argument("--own", type=int, default=5_000, help="audit events of the person")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    engines = {"sqlite": f"sqlite:///{OUT / f'mydata-{args.events}-{args.own}.sqlite3'}"}
    try:
        admin = create_engine(make_url(PG_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": PG_DB}).first():
                conn.execute(text(f"CREATE DATABASE {PG_DB}"))
        admin.dispose()
        engines["postgresql"] = make_url(PG_URL).set(database=PG_DB).render_as_string(False)
    except Exception as exc:  # PostgreSQL is optional here
        print(f"PostgreSQL skipped: {exc.__class__.__name__}")
    for name, url in engines.items():
        print(f"{name}: {args.events:,} events of others, {args.own:,} of the person, {args.runs} runs each")
        _build(url, args.events, args.own)
        measure(url, args.runs)


if __name__ == "__main__":
    main()
