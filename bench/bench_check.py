"""The whole list check on a large registry: seconds, peak memory and the quality of its answers.

For each engine (PostgreSQL, SQLite):

1. a registry of ``--count`` generated citizens (``idsvc population generate``, the file cached under
   ``bench/out/``), imported once into a database the bench keeps between runs (``--fresh`` rebuilds
   it): ``idsvc_bench_check`` on PostgreSQL, ``bench/out/check-<count>.sqlite3``;
2. the matcher's block-key index, built once (``idsvc eligibility index``, timed);
3. a labelled list of ``--rows`` applicants (``matching_noise``): 90 % with an ID number (most right,
   some with one digit wrong or a relative's), 10 % without, 5 % the same person a second time
   (noised again), 1 % people who have died, 2 % people who are not in the registry;
4. ``idsvc eligibility check`` as a child process against a bench programme that may receive ID
   numbers (so the answer names the person matched): wall-clock seconds, and peak resident memory
   of the process from ``wait4``;
5. precision and recall of the people matched, overall and on rows without a usable ID number,
   duplicate-pair F1, and deaths flagged; the same for an exact-match baseline (the number as
   written with the exact folded name and full date of birth; with no number, a unique exact name
   and full date), computed here from the same list.

    .venv/bin/python bench/bench_check.py                      # 1,000,000 citizens, 100,000 rows
    .venv/bin/python bench/bench_check.py --count 200000 --rows 20000 --engine sqlite
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import matching_noise
from matching_noise import noisy
from sqlalchemy import create_engine
from sqlalchemy import make_url
from sqlalchemy import text

from idsvc.eligibility.applicants import parse_date
from idsvc.population.generator import generate
from idsvc.registry.dates import PartialDate
from idsvc.registry.names import fold
from idsvc.registry.units import communes_2025

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
IDSVC = str(Path(sys.executable).parent / "idsvc")
PG_DB = "idsvc_bench_check"
PROGRAMME = "bench-check"
#: What the rows say of the ID number (matching_noise's states, at the issue's 90 % / 10 % split).
ID_STATES = {"id-correct": 0.78, "id-one-digit": 0.06, "id-other-person": 0.06, "id-missing": 0.10}
PROGRAMME_FILE = f"""
code = "{PROGRAMME}"
name_vi = "Chương trình đo hiệu năng"
name_en = "Benchmark programme"
legal_basis = "bench/bench_check.py"
benefit_category = "social_pension"
coefficient = 1.0
base_rate = 500000
base_rate_effective = 2024-07-01
may_receive_id_numbers = true

[[rules]]
kind = "alive"
code = "DECEASED"
message_vi = "Đã chết"
message_en = "Deceased"

[[rules]]
kind = "age"
code = "AGE"
min = 60
message_vi = "Chưa đủ 60 tuổi"
message_en = "Under 60"
"""


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "IDSVC_DATABASE_URL": url}


def _idsvc(url: str, *args: str) -> None:
    subprocess.run([IDSVC, *args], check=True, env=_env(url), stdout=subprocess.DEVNULL)


#: Runs a command and reports its peak resident memory. The command is started from this small
#: process, not from the bench: Linux carries a process's peak memory over ``fork`` and ``exec``, so a
#: child of the bench (which holds the registry's details for the quality figures) would report the
#: bench's own peak.
_MEASURE = ("import os, subprocess, sys; p = subprocess.Popen(sys.argv[1:]); _, st, ru = os.wait4(p.pid, 0); "
            "print(f'BENCH_MAXRSS_KB {ru.ru_maxrss}', file=sys.stderr); sys.exit(os.waitstatus_to_exitcode(st))")


def _timed(url: str, *args: str) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, the output's last line) of one ``idsvc`` process."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _MEASURE, IDSVC, *args], env=_env(url), capture_output=True,
                          text=True)
    seconds = time.perf_counter() - start
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise SystemExit(f"idsvc {' '.join(args)} failed:\n{out}")
    peak = next(int(line.split()[1]) for line in out.splitlines() if line.startswith("BENCH_MAXRSS_KB"))
    last = [line for line in out.replace("\r", "\n").splitlines() if line.strip() and "BENCH_MAXRSS_KB" not in line]
    return seconds, peak / 1024, last[-1] if last else ""


def population(count: int, seed: int) -> Path:
    path = OUT / f"population-{count}-{seed}.csv"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)  # a fresh clone has no bench/out yet
        print(f"generating {count:,} citizens -> {path.name}", flush=True)
        subprocess.run([IDSVC, "population", "generate", "--count", str(count), "--seed", str(seed),
                        "--out", str(path)], check=True)
    return path


def registry(engine: str, pg_url: str, count: int, people: Path, fresh: bool) -> str:
    """The URL of a migrated registry holding ``people`` (imported once, then kept)."""
    if engine == "sqlite":
        path = OUT / f"check-{count}.sqlite3"
        if fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        admin = create_engine(make_url(pg_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if fresh:
                conn.execute(text(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"))
            if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": PG_DB}):
                conn.execute(text(f"CREATE DATABASE {PG_DB}"))
        admin.dispose()
        url = make_url(pg_url).set(database=PG_DB).render_as_string(False)
    _idsvc(url, "db", "upgrade")
    _idsvc(url, "units", "sync")
    db = create_engine(make_url(url).set(drivername="postgresql+psycopg") if engine == "postgresql" else url)
    with db.connect() as conn:
        have = conn.scalar(text("SELECT count(*) FROM citizen"))
    db.dispose()
    if have != count:
        if have:
            raise SystemExit(f"{url} holds {have:,} citizens, not {count:,}: run with --fresh")
        seconds, mb, _ = _timed(url, "registry", "import", *(["--initial-load"] if engine == "postgresql" else []),
                                str(people), "--rejects", str(OUT / "check-rejects.csv"))
        print(f"  {engine}: imported {count:,} citizens in {seconds:.0f} s ({mb:.0f} MB)", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / f"{PROGRAMME}.toml").write_text(PROGRAMME_FILE, encoding="utf-8")
        _idsvc(url, "eligibility", "programmes", "load", folder)
    return url


@dataclass(frozen=True, slots=True)
class Label:
    truth: str | None  # the true person's ID number; None: not in the registry
    usable_id: bool
    deceased: bool
    #: Who the row is, registered or not (people outside the registry can be listed twice too).
    person: str = ""


def applicant_list(people: Path, rows: int, seed: int) -> tuple[Path, dict[str, Label], dict[str, tuple[str, str]]]:
    """The labelled list (cached), its labels by ref, and the registry's (folded name, date) by number
    for the baseline."""
    path = OUT / f"applicants-{rows}-{seed}.csv"
    labels_path = path.with_suffix(".labels.json")
    registry_rows: list[tuple[str, ...]] = []
    with people.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        for r in reader:
            registry_rows.append((r["citizen_id"], r["full_name"], r["date_of_birth"], r["sex"], r["permanent_commune"],
                                  r["household_id"], r["status"]))
    details = {r[0]: (fold(r[1]), r[2]) for r in registry_rows}
    if path.exists() and labels_path.exists():
        raw = json.loads(labels_path.read_text(encoding="utf-8"))
        if all(len(v) == 4 for v in raw.values()):
            return path, {ref: Label(*v) for ref, v in raw.items()}, details

    rng = random.Random(seed)
    matching_noise.ID_STATES.clear()
    matching_noise.ID_STATES.update(ID_STATES)
    province_of = {u.code: u.province_code or "" for u in communes_2025()}
    communes_of: dict[str, list[str]] = defaultdict(list)
    for code, province in province_of.items():
        communes_of[province].append(code)
    all_communes = sorted(province_of)
    households: dict[str, list[str]] = defaultdict(list)
    for person in registry_rows:
        households[person[5]].append(person[0])
    dead = [i for i, person in enumerate(registry_rows) if person[6] != "alive"]
    outsiders = list(generate(max(1, rows // 50), seed + 1000))

    def as_dict(r: tuple[str, ...]) -> dict[str, str]:
        return {"citizen_id": r[0], "full_name": r[1], "date_of_birth": r[2], "sex": r[3], "permanent_commune": r[4]}

    made: list[tuple[matching_noise.NoisyRow, str, Label]] = []
    chosen: list[int] = []
    for n in range(rows):
        roll = rng.random()
        if roll < 0.02:
            src = rng.choice(outsiders)
            row = noisy(src, None, rng, province_of, communes_of, all_communes, [])
            outside = f"outside:{src['citizen_id']}"
            made.append((row, src["sex"], Label(None, "id-correct" in row.labels, False, outside)))
            continue
        if roll < 0.07 and chosen:
            i = rng.choice(chosen)
        elif roll < 0.08 and dead:
            i = rng.choice(dead)
        else:
            i = rng.randrange(len(registry_rows))
        chosen.append(i)
        person = registry_rows[i]
        others = [x for x in households[person[5]] if x != person[0]] or [rng.choice(registry_rows)[0]]
        row = noisy(as_dict(person), n, rng, province_of, communes_of, all_communes, others)
        made.append((row, person[3], Label(person[0], "id-correct" in row.labels, person[6] != "alive", person[0])))
    labels: dict[str, Label] = {}
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ref", "citizen_id", "full_name", "date_of_birth", "sex", "commune_code"])
        for n, (row, sex, label) in enumerate(made, 1):
            ref = f"R{n:07d}"
            labels[ref] = label
            born = row.person.born
            w.writerow([ref, row.person.id_number or "", row.person.full_name, _written(born, rng),
                        sex if rng.random() < 0.8 else "", row.person.commune or ""])
    labels_path.write_text(json.dumps({k: [v.truth, v.usable_id, v.deceased, v.person] for k, v in labels.items()}),
                           encoding="utf-8")
    return path, labels, details


def _written(born: PartialDate | None, rng: random.Random) -> str:
    """A date of birth as offices write it: ISO, or the Vietnamese form (dd/mm/yyyy, mm/yyyy)."""
    if born is None:
        return ""
    if rng.random() < 0.6:
        return born.isoformat()
    if born.day is not None:
        return f"{born.day:02d}/{born.month:02d}/{born.year}"
    return f"{born.month:02d}/{born.year}" if born.month is not None else str(born.year)


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    review: int = 0
    rows: int = 0

    def add(self, label: Label, chosen: str | None, review: bool) -> None:
        self.rows += 1
        self.review += review
        if chosen is not None:
            if chosen == label.truth:
                self.tp += 1
                return
            self.fp += 1
        if label.truth is not None:
            self.fn += 1

    def line(self, name: str) -> str:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        return (f"  {name:<40} rows {self.rows:>7}  precision {p:.4f}  recall {r:.4f}  "
                f"to a clerk {self.review:>6}  false matches {self.fp}")


def pair_f1(groups: dict[str, list[str]], truth: dict[str, list[str]]) -> tuple[float, float, float]:
    def pairs(g: dict[str, list[str]]) -> set[tuple[str, str]]:
        return {(a, b) for refs in g.values() for i, a in enumerate(sorted(refs)) for b in sorted(refs)[i + 1:]}

    got, want = pairs(groups), pairs(truth)
    p = len(got & want) / len(got) if got else 1.0
    r = len(got & want) / len(want) if want else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def quality(results: Path, labels: dict[str, Label], details: dict[str, tuple[str, str]], applicants: Path) -> None:
    ours, ours_no_id, base, base_no_id = Tally(), Tally(), Tally(), Tally()
    groups: dict[str, list[str]] = defaultdict(list)
    base_groups: dict[str, list[str]] = defaultdict(list)
    truth_groups: dict[str, list[str]] = defaultdict(list)
    dead_flagged = dead_total = dead_paid = 0
    by_name_date: dict[tuple[str, str], list[str]] = defaultdict(list)
    for number, key in details.items():
        by_name_date[key].append(number)
    with results.open(encoding="utf-8-sig", newline="") as f:
        answers = {r["ref"]: r for r in csv.DictReader(f)}
    with applicants.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            ref, label = row["ref"], labels[row["ref"]]
            a = answers[ref]
            identity_doubt = a["match"] == "review" or any(
                x.startswith("DATA_MISMATCH") for x in a["reasons"].split(";"))
            chosen = a["citizen_id"] or None if not identity_doubt and a["verdict"] != "NOT_FOUND" else None
            ours.add(label, chosen, identity_doubt)
            if not label.usable_id:
                ours_no_id.add(label, chosen, identity_doubt)
            if a["duplicate_group"]:
                groups[a["duplicate_group"]].append(ref)
            truth_groups[label.person].append(ref)
            if label.deceased:
                dead_total += 1
                dead_flagged += "DECEASED" in a["reasons"].split(";")
                dead_paid += a["verdict"] == "ELIGIBLE"
            # The baseline: the number as written with the exact folded name and full date.
            dob = row["date_of_birth"]
            try:
                iso = parse_date(dob).isoformat() if dob else ""
            except ValueError:
                iso = ""
            key = (fold(row["full_name"]), iso)
            number = row["citizen_id"]
            if number:
                b = number if details.get(number) == key else None
                base_groups[number].append(ref)
            else:
                hits = by_name_date.get(key, []) if len(iso) == 10 else []
                b = hits[0] if len(hits) == 1 else None
            base.add(label, b, False)
            if not label.usable_id:
                base_no_id.add(label, b, False)
    truth = {k: v for k, v in truth_groups.items() if len(v) > 1}
    print(ours.line("idsvc, all rows"))
    print(ours_no_id.line("idsvc, rows without a usable ID"))
    print(base.line("exact-match baseline, all rows"))
    print(base_no_id.line("exact-match baseline, rows without a usable ID"))
    p, r, f1 = pair_f1(groups, truth)
    print(f"  duplicate pairs, idsvc:     precision {p:.4f}  recall {r:.4f}  F1 {f1:.4f}  ({len(truth)} people listed "
          "more than once)")
    p, r, f1 = pair_f1({k: v for k, v in base_groups.items() if len(v) > 1}, truth)
    print(f"  duplicate pairs, baseline:  precision {p:.4f}  recall {r:.4f}  F1 {f1:.4f}  (same number written)")
    print(f"  rows of people who have died: {dead_total}; DECEASED {dead_flagged} (the others: duplicates, not found "
          f"or sent to a clerk); answered ELIGIBLE: {dead_paid}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=1_000_000)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--engine", choices=["both", "postgresql", "sqlite"], default="both")
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--fresh", action="store_true", help="rebuild the registries")
    ap.add_argument("--runs", type=int, default=2, help="timed check runs per engine")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    people = population(args.count, args.seed)
    applicants, labels, details = applicant_list(people, args.rows, args.seed)
    print(f"list: {args.rows:,} rows ({sum(lb.truth is None for lb in labels.values()):,} of people not in the "
          f"registry, {sum(not lb.usable_id for lb in labels.values()):,} without a usable ID number)", flush=True)
    engines = ["postgresql", "sqlite"] if args.engine == "both" else [args.engine]
    for engine in engines:
        url = registry(engine, args.pg_url, args.count, people, args.fresh)
        seconds, mb, _ = _timed(url, "eligibility", "index")
        print(f"{engine}: block-key index brought up to date in {seconds:.1f} s ({mb:.0f} MB)", flush=True)
        results = OUT / f"results-{engine}-{args.rows}.csv"
        for run in range(1, args.runs + 1):
            seconds, mb, summary = _timed(url, "eligibility", "check", "--programme", PROGRAMME, str(applicants),
                                          "--out", str(results))
            print(f"{engine}: check of {args.rows:,} rows against {args.count:,} citizens, run {run}: "
                  f"{seconds:.2f} s, peak {mb:.0f} MB  [{summary}]", flush=True)
        quality(results, labels, details, applicants)


if __name__ == "__main__":
    main()
