"""The office API on a 1,000,000-citizen PostgreSQL registry: name search, a person with history,
and 200 proposals sent at once.

1. The registry: ``--count`` generated citizens (``idsvc population generate``, cached under
   ``bench/out/`` as ``bench_check.py`` caches it), imported once into the database ``--database``
   (``idsvc_bench_registry``; kept between runs, migrated to this branch's head, so the trigram
   index of name searches is built once);
2. the service under gunicorn (``--workers`` sync workers, the README's production command; random
   secrets for the run, a plain-http issuer on the loopback), a trusted office client and staff
   accounts seeded through the services, their ``registry.staff`` access tokens issued as the code
   flow issues them (level 2);
3. loads, each request timed by the client (``--connections`` threads, one HTTP request at a time
   each), after a warm-up:

   - ``GET /api/v1/registry/persons``: queries made from people of the registry: the full name as
     written without diacritics (``name``), family and given name (``name_words``, the trigram
     index), the full name with the year of birth;
   - ``GET /api/v1/registry/persons/<number>``: people given a history of three changes first (the
     record, household, relatives, numbers, history and pending proposals; each read audited);
   - 200 proposals released together (a barrier, 200 threads): four clerks on each of 50 people,
     all sending a correction against the same ``If-Match``; then 200 on 200 other people. The first
     round must give exactly one ``201`` and three ``412`` per person, and the database one revision
     per person carrying the winner's value (no lost update); neither round may give a 409 or a 5xx
     (a deadlock or a serialization failure reaching a user).

Prints p50, p95 and p99 of each load, against the targets (search p95 < 50 ms, person p95 < 20 ms).

    .venv/bin/python bench/bench_registry.py                       # 1,000,000 citizens
    .venv/bin/python bench/bench_registry.py --count 200000 --database idsvc_bench_registry_200k
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_check import OUT
from bench_check import population
from bench_oidc import BIN
from bench_oidc import bench_env
from bench_oidc import gunicorn_argv
from bench_oidc import start
from sqlalchemy import create_engine
from sqlalchemy import make_url
from sqlalchemy import select
from sqlalchemy import text

from idsvc.registry.names import fold

PORT = 5087
API = "/api/v1/registry"
CLIENT_ID = "bench-office"
#: Where the people under test live (Hà Nội), and where the staff live (Đà Nẵng: never a household
#: under test).
PROVINCE = "01"
STAFF_PROVINCE = "48"
SEARCH_TARGET_MS = 50
PERSON_TARGET_MS = 20


# --- the registry -----------------------------------------------------------------------------------

def _idsvc(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(BIN / "idsvc"), *args], env=env, check=True, stdout=subprocess.DEVNULL)


def registry(pg_url: str, database: str, count: int, people: Path) -> str:
    """The URL of a registry of ``count`` people, migrated to this branch's head."""
    admin = create_engine(make_url(pg_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}):
            conn.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    url = make_url(pg_url).set(database=database).render_as_string(False)
    env = {**os.environ, "IDSVC_DATABASE_URL": url}
    started = time.perf_counter()
    _idsvc(env, "db", "upgrade")
    print(f"  migrated to head in {time.perf_counter() - started:.1f} s")
    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    with engine.connect() as conn:
        have = conn.scalar(text("SELECT count(*) FROM citizen"))
    if not have:
        _idsvc(env, "units", "sync")
        started = time.perf_counter()
        _idsvc(env, "registry", "import", "--initial-load", str(people), "--rejects", str(OUT / "registry-rejects.csv"))
        print(f"  imported {count:,} citizens in {time.perf_counter() - started:.0f} s")
    elif have < count:
        raise SystemExit(f"{database} holds {have:,} citizens, fewer than {count:,}: drop it or name another")
    engine.dispose()
    return url


# --- seeding, in process ----------------------------------------------------------------------------

@dataclass
class Seeded:
    auditor: int
    clerks: list[int]
    with_history: list[str]
    contended: list[str]
    distinct: list[str]


def seed(app: Any, clerks: int, rng: random.Random) -> Seeded:
    """The office client, staff accounts (level 2, living in Đà Nẵng), and the people under test."""
    from idsvc import db
    from idsvc.identity import service as identity
    from idsvc.identity.models import Account
    from idsvc.oidc import clients
    from idsvc.oidc.schemas import client_settings
    from idsvc.registry.models import Citizen
    from idsvc.registry.models import Commune

    with app.app_context(), db.transaction():
        s = db.session()
        if clients.find_client(CLIENT_ID) is None:
            clients.register_client(client_settings({
                "name": "Bench office app", "auth_method": "client_secret_basic", "trusted": True,
                "redirect_uris": ["https://office.bench.invalid/callback"],
                "grant_types": ["authorization_code", "refresh_token"], "scopes": ["openid", "registry.staff"]}),
                client_id=CLIENT_ID, actor="system:bench")
        staff_communes = select_codes(s, Commune, STAFF_PROVINCE)
        staff_people = list(s.scalars(
            select(Citizen).where(Citizen.permanent_commune_code.in_(staff_communes), Citizen.status == "alive")
            .order_by(Citizen.id).limit(clerks + 1)))
        accounts: list[int] = []
        for i, citizen in enumerate(staff_people):
            account = identity.account_for_citizen(citizen) or identity.create_account(citizen, actor="system:bench")
            account.level, account.status = 2, "active"
            role = ("auditor", "*") if i == 0 else ("clerk", PROVINCE)
            if (role[0], role[1]) not in {(r.role, r.unit_code) for r in account.roles}:
                identity.grant_role(account, role[0], role[1], actor="system:bench")
            accounts.append(account.id)
        s.flush()
        assert all(s.get(Account, a) is not None for a in accounts)
        communes = select_codes(s, Commune, PROVINCE)
        # People of the province with no change yet (a re-run takes others), in a random order.
        ids = list(s.scalars(text(
            "SELECT c.id_number FROM citizen c WHERE c.permanent_commune_code = ANY(:codes) AND c.status = 'alive' "
            "AND c.version = 1 ORDER BY md5(c.id_number || :salt) LIMIT 1000"),
            {"codes": communes, "salt": str(rng.random())}))
    if len(ids) < 550:
        raise SystemExit("not enough unchanged people left in the province under test: rebuild the database")
    return Seeded(accounts[0], accounts[1:], ids[:300], ids[300:350], ids[350:550])


def select_codes(s: Any, commune: Any, province: str) -> list[str]:
    return list(s.scalars(select(commune.code).where(commune.province_code == province)))


def give_history(app: Any, clerk_account: int, numbers: list[str]) -> float:
    """Three immediate corrections of each person, through the office service; seconds taken."""
    from idsvc import db
    from idsvc.office import authority
    from idsvc.office import service

    started = time.perf_counter()
    with app.app_context():
        for number in numbers:
            with db.transaction():
                staff = authority.staff_of_account(clerk_account)
                # Values no generated person has, so that each one is a change (and a new version).
                for version, change in enumerate(({"place_of_birth": "Bệnh viện A (bench)"},
                                                  {"place_of_birth": "Bệnh viện B (bench)"},
                                                  {"hometown": "Xã Bench"}), 1):
                    service.propose(staff, "correction", change, subject=number, reason="Bench history",
                                    expected_version=version)
    return time.perf_counter() - started


def tokens(app: Any, accounts: list[int]) -> dict[int, str]:
    """A level-2 ``registry.staff`` access token for each account, as the code flow issues them."""
    from idsvc import db
    from idsvc.identity.models import Account
    from idsvc.oidc import clients
    from idsvc.oidc import issuance

    with app.app_context(), db.transaction():
        client = clients.get_client(CLIENT_ID)
        return {a: issuance.issue_tokens(client=client, account=db.session().get(Account, a),
                                         scope="openid registry.staff", grant_type="authorization_code",
                                         include_refresh=False, level=2, amr="pwd otp",
                                         auth_time=db.utcnow())["access_token"] for a in accounts}


# --- load -------------------------------------------------------------------------------------------

@dataclass
class Timed:
    status: int
    ms: float
    body: str
    headers: dict[str, str]


def call(method: str, path: str, token: str, body: Any = None, headers: dict[str, str] | None = None) -> Timed:
    payload = json.dumps(body) if body is not None else None
    sent = {"Authorization": f"Bearer {token}", **({"Content-Type": "application/json"} if payload else {}),
            **(headers or {})}
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    conn.request(method, path, body=payload, headers=sent)
    response = conn.getresponse()
    data = response.read().decode("utf-8", "replace")
    ms = (time.perf_counter() - started) * 1000
    conn.close()
    return Timed(response.status, ms, data, {k.lower(): v for k, v in response.getheaders()})


def get(path: str, token: str) -> Callable[[], Timed]:
    return lambda: call("GET", path, token)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def load(label: str, requests: Sequence[Callable[[], Timed]], connections: int, warmup: int,
         target_ms: float | None = None) -> dict[str, Any]:
    """Run the requests on ``connections`` threads (the first ``warmup`` unreported); print figures."""
    with ThreadPoolExecutor(connections) as pool:
        list(pool.map(lambda job: job(), requests[:warmup]))
        started = time.perf_counter()
        done = list(pool.map(lambda job: job(), requests[warmup:]))
        seconds = time.perf_counter() - started
    times = [t.ms for t in done]
    statuses = Counter(t.status for t in done)
    p50, p95, p99 = (percentile(times, p) for p in (50, 95, 99))
    verdict = "" if target_ms is None else f"  target p95 < {target_ms:g} ms: {'met' if p95 < target_ms else 'NOT met'}"
    print(f"  {label:<44} {len(done):>5} requests  {len(done) / seconds:7.1f}/s  p50 {p50:6.1f} ms  "
          f"p95 {p95:6.1f} ms  p99 {p99:6.1f} ms  statuses {dict(statuses)}{verdict}", flush=True)
    return {"p50": p50, "p95": p95, "p99": p99, "statuses": statuses}


def search_queries(people: Path, count: int, rng: random.Random) -> list[dict[str, str]]:
    """Queries a clerk types, from people of the registry: full name, family and given name, full
    name and year of birth (one in three each)."""
    picked: list[dict[str, str]] = []
    with people.open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if rng.random() < count * 3 / 1_000_000]
    rng.shuffle(rows)
    for i, row in enumerate(rows[:count]):
        words = fold(row["full_name"]).split()
        if i % 3 == 0:
            picked.append({"name": " ".join(words)})
        elif i % 3 == 1:  # family and given name; the middle name too when both are short ("le an")
            short = max(len(words[0]), len(words[-1])) < 3
            picked.append({"name_words": " ".join(words if short else (words[0], words[-1]))})
        else:
            picked.append({"name": " ".join(words), "born": row["date_of_birth"][:4]})
    return picked


def query_times(app: Any, queries: list[dict[str, str]]) -> None:
    """The search's own SQL, timed in this process (no HTTP, no token): the index's share of a
    search, apart from the request's other work and from what else the machine runs."""
    from idsvc.registry import search

    for kind in ("name", "name_words", "born"):
        chosen = [q for q in queries if (kind in q if kind != "name" else set(q) == {"name"})][:300]
        times = []
        with app.app_context():
            for q in chosen:
                started = time.perf_counter()
                search.search(search.Query(**q), limit=50)
                times.append((time.perf_counter() - started) * 1000)
        p50, p95, p99 = (percentile(times, p) for p in (50, 95, 99))
        print(f"  search SQL alone: {kind if kind != 'born' else 'name + born':<26} {len(times):>5} queries  p50 "
              f"{p50:6.1f} ms  p95 {p95:6.1f} ms  p99 {p99:6.1f} ms", flush=True)


def race(label: str, jobs: Sequence[Callable[[], Timed]]) -> list[Timed]:
    """All jobs released together, one thread each."""
    barrier = threading.Barrier(len(jobs))

    def run(job: Callable[[], Timed]) -> Timed:
        barrier.wait()
        return job()

    started = time.perf_counter()
    with ThreadPoolExecutor(len(jobs)) as pool:
        answers = list(pool.map(run, jobs))
    seconds = time.perf_counter() - started
    times = [a.ms for a in answers]
    print(f"  {label:<44} {len(jobs):>5} at once, all answered in {seconds:5.2f} s  p50 "
          f"{percentile(times, 50):6.1f} ms  p95 {percentile(times, 95):6.1f} ms  max {max(times):6.1f} ms  "
          f"statuses {dict(Counter(a.status for a in answers))}", flush=True)
    return answers


def correction(token: str, number: str, phone: str, version: int) -> Callable[[], Timed]:
    return lambda: call("POST", f"{API}/persons/{number}/proposals", token, {
        "operation": "correction", "payload": {"phone": phone}, "reason": "Bench: concurrent correction",
        "document": {"number": "BENCH/2026", "date": "2026-12-01"}}, {"If-Match": f'"{version}"'})


def check_no_lost_update(app: Any, contended: list[str], answers: list[Timed], per_person: int) -> list[str]:
    """Per person: one 201 and the others 412; the record at version 2 with one revision, carrying the
    winner's phone. The problems found, if any."""
    from sqlalchemy import func

    from idsvc import db
    from idsvc.registry.models import Citizen
    from idsvc.registry.models import CitizenRevision

    problems = []
    with app.app_context():
        s = db.session()
        for i, number in enumerate(contended):
            mine = answers[i * per_person:(i + 1) * per_person]
            won = [a for a in mine if a.status == 201]
            if len(won) != 1 or sorted(a.status for a in mine) != [201] + [412] * (per_person - 1):
                problems.append(f"{number}: statuses {sorted(a.status for a in mine)}")
                continue
            citizen = s.scalar(select(Citizen).where(Citizen.id_number == number))
            assert citizen is not None
            revisions = s.scalar(select(func.count()).select_from(CitizenRevision).where(
                CitizenRevision.citizen_id == citizen.id))
            winner_phone = json.loads(won[0].body)["payload"]["phone"]
            if (citizen.version, revisions, citizen.phone) != (2, 1, winner_phone):
                problems.append(f"{number}: version {citizen.version}, {revisions} revisions, phone {citizen.phone} "
                                f"(winner {winner_phone})")
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--database", default="idsvc_bench_registry")
    ap.add_argument("--count", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=5, help="of the generated population (bench_check's)")
    ap.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    ap.add_argument("--connections", type=int, default=4, help="client threads of the latency loads")
    ap.add_argument("--searches", type=int, default=3000)
    ap.add_argument("--reads", type=int, default=1500)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    people = population(args.count, args.seed)
    print(f"registry of {args.count:,} citizens in {args.database}:", flush=True)
    url = registry(args.pg_url, args.database, args.count, people)
    with tempfile.TemporaryDirectory() as scratch:
        env = {**bench_env(url, Path(scratch) / "keys"), "IDSVC_ISSUER": f"http://127.0.0.1:{PORT}"}
        env.pop("IDSVC_ENV")  # development mode: the issuer is plain http on the loopback
        _idsvc(env, "keys", "generate")
        os.environ.update({k: v for k, v in env.items() if k.startswith("IDSVC_")})
        os.environ.pop("IDSVC_ENV", None)
        from idsvc import create_app

        app = create_app()
        seeded = seed(app, 200, rng)
        seconds = give_history(app, seeded.clerks[0], seeded.with_history)
        print(f"  seeded 200 clerks and an auditor; {len(seeded.with_history)} people given 3 changes each "
              f"({seconds:.1f} s)", flush=True)
        queries = search_queries(people, args.searches + 300, rng)
        server = start("idsvc", PORT, gunicorn_argv(args.workers, 1, PORT, "wsgi:app"), env,
                       Path(scratch) / "gunicorn.log")
        try:
            token = tokens(app, [seeded.auditor])[seeded.auditor]
            clerk = tokens(app, [seeded.clerks[0]])[seeded.clerks[0]]
            print(f"gunicorn, {args.workers} sync workers; {args.connections} client threads; PostgreSQL "
                  f"{args.database}", flush=True)
            # A registry in service is warm: its pages cached, the workers' lookups made.
            with ThreadPoolExecutor(args.connections) as pool:
                list(pool.map(lambda job: job(), [get(f"{API}/persons?{urlencode(q)}", clerk) for q in queries[-600:]]))
            for kind in ("name", "name_words", "born"):
                chosen = [q for q in queries if (kind in q if kind != "name" else set(q) == {"name"})]
                jobs = [get(f"{API}/persons?{urlencode(q)}", clerk) for q in chosen]
                load(f"search: {kind if kind != 'born' else 'name + born'}", jobs, args.connections, 100,
                     SEARCH_TARGET_MS)
            jobs = [get(f"{API}/persons?{urlencode(q)}", clerk) for q in queries]
            load("search: all kinds", jobs, args.connections, 100, SEARCH_TARGET_MS)
            query_times(app, queries[100:])
            reads = [rng.choice(seeded.with_history) for _ in range(args.reads + 100)]
            jobs = [get(f"{API}/persons/{n}", token) for n in reads]
            load("person with history (3 revisions)", jobs, args.connections, 100, PERSON_TARGET_MS)

            clerk_tokens = tokens(app, seeded.clerks)
            ordered = [clerk_tokens[a] for a in seeded.clerks]
            per_person = 4
            jobs = [correction(ordered[i * per_person + k], number, f"09{i * per_person + k:08d}", 1)
                    for i, number in enumerate(seeded.contended) for k in range(per_person)]
            answers = race("proposals: 4 clerks x 50 people, one If-Match", jobs)
            problems = check_no_lost_update(app, seeded.contended, answers, per_person)
            failures = [a for a in answers if a.status in (409, 500, 502, 503)]
            listed = ": " + "; ".join(problems[:5]) if problems else ""
            print(f"    lost updates / wrong answers: {len(problems)}{listed}; 409 or 5xx: {len(failures)}", flush=True)
            jobs = [correction(ordered[i], number, f"08{i:08d}", 1) for i, number in enumerate(seeded.distinct)]
            answers = race("proposals: 200 clerks x 200 people", jobs)
            print(f"    201: {sum(a.status == 201 for a in answers)}; 409 or 5xx: "
                  f"{sum(a.status in (409, 500, 502, 503) for a in answers)}", flush=True)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
