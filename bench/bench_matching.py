"""Precision and recall of identity resolution on labelled noise, against an exact-match baseline.

Generates ``--count`` people plus ``--outsiders`` more (``idsvc.population.generator``), registers
the first set (a random split, so outsiders' relatives are registered: hard non-matches), makes
``--rows`` noisy applicant rows (``matching_noise``; ``--outsider-share`` of them from outsiders, who
must not be matched) and resolves each against the candidates its blocking keys meet, in memory.

Counts, per method: a row auto-matched to its true person is a true positive; auto-matched to
anyone else (or an outsider matched at all) a false positive; a registered person not auto-matched
a false negative (rows sent to a clerk are counted apart). Printed overall and for rows without a
usable ID (missing, one digit wrong, another person's).

"matching" compares every row on its details (the number as one more field); "numbers first"
does what ``idsvc.eligibility.resolution`` does: a number the registry knows, whose holder's name
and birth date do not disagree with the row, is the holder; a number whose holder disagrees is
searched on the details, and the holder is kept only as a mismatch for a clerk (counted as a
review, not a match) unless the details point confidently to another person.

    .venv/bin/python bench/bench_matching.py --count 50000 --rows 5000
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from pathlib import Path
from typing import cast

sys.path.insert(0, str(Path(__file__).resolve().parent))

from matching_noise import NoisyRow
from matching_noise import noisy
from matching_noise import person_of

from idsvc.eligibility.matching import DEFAULT_THRESHOLDS
from idsvc.eligibility.matching import NameFrequencies
from idsvc.eligibility.matching import Thresholds
from idsvc.eligibility.matching import blocking_keys
from idsvc.eligibility.matching import compare
from idsvc.eligibility.matching import resolve
from idsvc.eligibility.matching import search_keys
from idsvc.population.generator import generate
from idsvc.registry.names import fold
from idsvc.registry.units import communes_2025


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    review: int = 0
    rows: int = 0
    true_in_review: int = 0

    def add(self, row: NoisyRow, decision: str, chosen: int | None) -> None:
        self.rows += 1
        if decision == "match":
            if chosen == row.truth:
                self.tp += 1
            else:
                self.fp += 1
                if row.truth is not None:
                    self.fn += 1
            return
        if decision == "review":
            self.review += 1
            self.true_in_review += chosen is not None and chosen == row.truth
        if row.truth is not None:
            self.fn += 1

    def line(self, label: str) -> str:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        return (f"{label:<34} rows {self.rows:>6}  precision {p:.4f}  recall {r:.4f}  F1 {f1:.4f}  "
                f"review {self.review:>5} ({self.true_in_review} with the right person on top)  "
                f"false matches {self.fp}")


@dataclass
class Results:
    overall: Tally = field(default_factory=Tally)
    no_id: Tally = field(default_factory=Tally)

    def add(self, row: NoisyRow, decision: str, chosen: int | None) -> None:
        self.overall.add(row, decision, chosen)
        if not row.usable_id:
            self.no_id.add(row, decision, chosen)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=50_000, help="registered people")
    ap.add_argument("--outsiders", type=int, default=5_000, help="generated people left out of the registry")
    ap.add_argument("--rows", type=int, default=5_000, help="noisy applicant rows")
    ap.add_argument("--outsider-share", type=float, default=0.10)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--match", type=float, help="default: Thresholds.for_population(--count)")
    ap.add_argument("--review", type=float, help="default: Thresholds.for_population(--count)")
    ap.add_argument("--margin", type=float, default=DEFAULT_THRESHOLDS.margin)
    ap.add_argument("--show-errors", type=int, default=0, help="print this many false matches and misses")
    args = ap.parse_args()
    scaled = Thresholds.for_population(args.count)
    thresholds = Thresholds(scaled.match if args.match is None else args.match,
                            scaled.review if args.review is None else args.review, args.margin)

    started = time.perf_counter()
    rows = list(generate(args.count + args.outsiders, args.seed))
    rng = random.Random(args.seed)
    rng.shuffle(rows)
    registered, outside = rows[: args.count], rows[args.count:]
    province_of = {u.code: u.province_code or "" for u in communes_2025()}
    communes_of: dict[str, list[str]] = defaultdict(list)
    for code, province in province_of.items():
        communes_of[province].append(code)
    all_communes = sorted(province_of)
    registry = [person_of(r, province_of) for r in registered]
    freq = NameFrequencies.from_names((p.full_name for p in registry), births=(p.born for p in registry))
    index: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(registry):
        for key in blocking_keys(p):
            index[key].append(i)
    exact: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, p in enumerate(registry):
        if p.born is not None and p.born.precision == "day":
            exact[(fold(p.full_name), p.born.isoformat())].append(i)
    by_household: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        by_household[r["household_id"]].append(r["citizen_id"])
    built = time.perf_counter()

    noisy_rows: list[NoisyRow] = []
    for _ in range(args.rows):
        if rng.random() < args.outsider_share:
            src, truth = rng.choice(outside), None
        else:
            truth = rng.randrange(len(registered))
            src = registered[truth]
        others = [n for n in by_household[src["household_id"]] if n != src["citizen_id"]] or [
            rng.choice(registered)["citizen_id"]]
        noisy_rows.append(noisy(src, truth, rng, province_of, communes_of, all_communes, others))

    by_number = {p.id_number: i for i, p in enumerate(registry) if p.id_number}

    def numbers_first(row: NoisyRow, found: set[int]) -> tuple[str, int | None]:
        """What resolution.resolve_all decides for the row (see the module's docstring)."""
        holder = by_number.get(row.person.id_number or "")
        if holder is None:
            best = resolve(row.person, ((i, registry[i]) for i in found), freq, thresholds)
            return (best.decision, cast(int, best.candidate)) if best is not None else ("no match", None)
        checked = compare(replace(row.person, id_number=None), registry[holder], freq, thresholds)
        if checked.level("name") != "disagree" and checked.level("dob") != "disagree":
            return "match", holder
        # the number stays in the search: a candidate whose number differs loses a little
        best = resolve(row.person, ((i, registry[i]) for i in found), freq, thresholds)
        if best is not None and best.decision == "match" and best.candidate != holder:
            return "match", cast(int, best.candidate)
        return "review", holder

    ours, baseline, pipeline = Results(), Results(), Results()
    labels: Counter[str] = Counter()
    by_label: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    candidates_seen = 0
    blocked_out = 0
    shown = 0
    t0 = time.perf_counter()
    for row in noisy_rows:
        labels.update(row.labels)
        found: set[int] = set()
        for key in search_keys(row.person):
            found.update(index.get(key, ()))
        candidates_seen += len(found)
        if row.truth is not None and row.truth not in found:
            blocked_out += 1
        best = resolve(row.person, ((i, registry[i]) for i in found), freq, thresholds)
        chosen = best.candidate if best is not None else None
        assert chosen is None or isinstance(chosen, int)
        decision = best.decision if best is not None else "no match"
        ours.add(row, decision, chosen)
        decided = numbers_first(row, found)
        pipeline.add(row, *decided)
        if shown < args.show_errors and decided[0] == "match" and decided[1] != row.truth:
            shown += 1
            print("NUMBERS FIRST", row.person, row.labels, "\n  TRUE", registry[row.truth] if row.truth is not None
                  else None, "\n  GOT", registry[cast(int, decided[1])], "\n")
        if row.truth is not None:
            for label in row.labels:
                by_label[label][0] += 1
                by_label[label][1] += decision == "match" and chosen == row.truth
                by_label[label][2] += decision == "review" and chosen == row.truth
        if shown < args.show_errors and decision == "match" and chosen != row.truth:
            shown += 1
            true_person = registry[row.truth] if row.truth is not None else None
            print("ROW", row.person, row.labels, "\n  TRUE", true_person, "\n  GOT", decision, chosen,
                  best.explanation() if best else "", "\n")
        p = row.person
        hits = exact.get((fold(p.full_name), p.born.isoformat())) if p.born and p.born.precision == "day" else None
        baseline.add(row, "match" if hits and len(hits) == 1 else "no match", hits[0] if hits else None)
    elapsed = time.perf_counter() - t0

    print(f"registry {len(registry):,} people, {len(noisy_rows):,} noisy rows "
          f"({sum(r.truth is None for r in noisy_rows):,} of unregistered people), seed {args.seed}; "
          f"set-up {built - started:.1f} s")
    print(f"thresholds: match >= {thresholds.match}, review >= {thresholds.review}, margin {thresholds.margin}")
    print(f"blocking: {candidates_seen / len(noisy_rows):.1f} candidates per row; "
          f"true person not among them for {blocked_out} rows; {elapsed / len(noisy_rows) * 1000:.2f} ms per row")
    print("noise applied:", ", ".join(f"{k} {v}" for k, v in sorted(labels.items())))
    print("recall by noise (registered people; a row may carry several): label rows matched / to a clerk")
    for label, (n, hit, clerk) in sorted(by_label.items()):
        print(f"  {label:<24} {n:>5}  {hit / n:.3f} / {clerk / n:.3f}")
    print(ours.overall.line("matching, all rows"))
    print(ours.no_id.line("matching, rows without a usable ID"))
    print(pipeline.overall.line("numbers first, all rows"))
    print(pipeline.no_id.line("numbers first, no usable ID"))
    print(baseline.overall.line("exact name + full date, all rows"))
    print(baseline.no_id.line("exact name + full date, no usable ID"))


if __name__ == "__main__":
    main()
