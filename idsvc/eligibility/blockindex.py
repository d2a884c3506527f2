"""The block-key index of the registry: who to compare an applicant's row with, found set-based.

``citizen_block_key (key, citizen_id)`` holds every citizen's :func:`matching.blocking_keys` and
one ``f:<surname>|<middle names>|<given name>|<full birth date>`` key with what ``name_frequency``
counts (the weights of :mod:`matching` know how common a name is, and which birth dates are
spikes, such as 1 January). A batch of
rows is searched with one join: the rows' :func:`matching.search_keys` go into a temporary table,
joined to the index and to the candidates' details in one statement.

The index is derived data. ``idsvc eligibility index`` rebuilds it (streaming over the registry);
:func:`refresh_index` keeps it current from a watermark, the last ``(citizen.updated_at, id)``
re-keyed: citizens changed since get their keys replaced and the name counts adjusted. With
nothing changed it costs two small queries.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Mapping
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy import and_
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.schema import AddConstraint
from sqlalchemy.schema import CreateIndex
from sqlalchemy.schema import DropConstraint
from sqlalchemy.schema import DropIndex

from idsvc import db
from idsvc.eligibility.matching import BLOCK_CAP
from idsvc.eligibility.matching import Name
from idsvc.eligibility.matching import NameFrequencies
from idsvc.eligibility.matching import Person
from idsvc.eligibility.matching import blocking_keys
from idsvc.eligibility.matching import date_spike_least
from idsvc.eligibility.models import BlockIndexState
from idsvc.eligibility.models import CitizenBlockKey
from idsvc.eligibility.models import NameFrequency
from idsvc.registry.dates import PartialDate
from idsvc.registry.models import Citizen
from idsvc.registry.models import Commune

#: Citizens re-keyed per statement batch (rebuild and refresh).
BATCH = 5000
#: Ids per IN-list (SQLite's limit on bound parameters).
IN_CHUNK = 500
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_STATE = 1
_FREQ = "f:"

#: The details of a citizen that resolution compares, in this order (:func:`person_of`).
PERSON_COLUMNS = (Citizen.id, Citizen.full_name, Citizen.birth_year, Citizen.birth_month, Citizen.birth_day,
                  Citizen.permanent_commune_code, Commune.province_code, Citizen.id_number, Citizen.sex)


def person_of(row: Row[Any] | Sequence[Any], offset: int = 0) -> Person:
    """The :class:`Person` of a row whose columns from ``offset`` on are :data:`PERSON_COLUMNS`."""
    _id, name, year, month, day, commune, province, number, _sex = row[offset:offset + len(PERSON_COLUMNS)]
    return Person(name, _date(year, month, day), commune, province, number)


@functools.lru_cache(maxsize=1 << 16)
def _date(year: int, month: int | None, day: int | None) -> PartialDate:
    return PartialDate(year, month, day)


def citizen_keys(person: Person) -> set[str]:
    """The keys a registry record is stored under: its blocking keys and its counted-parts key."""
    keys = blocking_keys(person)
    name = Name.parse(person.full_name)
    if len(name.folded) >= 2:
        born = str(person.born) if person.born is not None and person.born.precision == "day" else ""
        keys.add(f"{_FREQ}{name.surname}|{' '.join(name.middle)}|{name.given}|{born}")
    return keys


def _parts(key: str) -> list[tuple[str, str]]:
    surname, middle, given, born = key[len(_FREQ):].split("|")
    return [("s", surname), ("m", middle), ("g", given)] + ([("d", born)] if born else [])


# --------------------------------------------------------------------------------------------
# Writing


def _upsert(session: Session) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _write_keys(session: Session, pairs: list[tuple[str, int]]) -> None:
    """Bulk insert: ``COPY`` on PostgreSQL, one ``executemany`` on SQLite."""
    if not pairs:
        return
    conn = session.connection()
    driver: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        data = "".join(f"{key}\t{citizen}\n" for key, citizen in pairs)
        if "\\" in data:
            data = data.replace("\\", "\\\\")
        with driver.cursor() as cur, cur.copy("COPY citizen_block_key (key, citizen_id) FROM STDIN") as copy:
            copy.write(data.encode())
    else:
        driver.cursor().executemany("INSERT INTO citizen_block_key (key, citizen_id) VALUES (?, ?)", pairs)


def _add_counts(session: Session, counts: Counter[tuple[str, str]], citizens: int) -> None:
    """Add to the name counts and to the number of citizens counted, atomically in the database."""
    rows = [{"part": part, "value": value, "citizens": n} for (part, value), n in sorted(counts.items()) if n]
    if rows:
        table = NameFrequency.__table__
        stmt = _upsert(session)(table)
        stmt = stmt.on_conflict_do_update(index_elements=["part", "value"],
                                          set_={"citizens": table.c.citizens + stmt.excluded.citizens})
        session.execute(stmt, rows)
    if citizens:
        session.execute(update(BlockIndexState).where(BlockIndexState.id == _STATE)
                        .values(citizens=BlockIndexState.citizens + citizens))


def _rekey(session: Session, rows: Sequence[Any], *, replace: bool,
           counted: tuple[Counter[tuple[str, str]], list[int]] | None = None) -> None:
    """Write the keys of ``rows`` (:data:`PERSON_COLUMNS`); ``replace``: delete their old keys first,
    taking their old name parts off the counts. ``counted``: add the counts there instead of to
    the table (a rebuild writes them once, at the end)."""
    ids = [row[0] for row in rows]
    counts: Counter[tuple[str, str]] = Counter()
    citizens = 0
    if replace:
        for start in range(0, len(ids), IN_CHUNK):
            chunk = ids[start:start + IN_CHUNK]
            for (key,) in session.execute(select(CitizenBlockKey.key).where(
                    CitizenBlockKey.citizen_id.in_(chunk), CitizenBlockKey.key.startswith(_FREQ, autoescape=True))):
                counts.subtract(_parts(key))
                citizens -= 1
            session.execute(delete(CitizenBlockKey).where(CitizenBlockKey.citizen_id.in_(chunk)))
    pairs: list[tuple[str, int]] = []
    for row in rows:
        for key in citizen_keys(person_of(row)):
            pairs.append((key, row[0]))
            if key.startswith(_FREQ):
                counts.update(_parts(key))
                citizens += 1
    _write_keys(session, pairs)
    if counted is None:
        _add_counts(session, counts, citizens)
    else:
        counted[0].update(counts)
        counted[1][0] += citizens


def _changed_since(at: datetime, last_id: int) -> Any:
    return (select(*PERSON_COLUMNS, Citizen.updated_at)
            .outerjoin(Commune, Commune.code == Citizen.permanent_commune_code)
            .where(or_(Citizen.updated_at > at, and_(Citizen.updated_at == at, Citizen.id > last_id)))
            .order_by(Citizen.updated_at, Citizen.id).limit(BATCH))


def refresh_index() -> int:
    """Re-key the citizens changed since the watermark; the number re-keyed (0: nothing changed).

    The watermark is moved with a conditional UPDATE before re-keying: of two checks that start at
    once, one re-keys and the other goes on with the index as it is. Flushes, never commits.
    """
    s = db.session()
    state = s.execute(select(BlockIndexState.watermark_at, BlockIndexState.watermark_id)
                      .where(BlockIndexState.id == _STATE)).first()
    if state is None:
        s.execute(_upsert(s)(BlockIndexState.__table__).values(
            id=_STATE, watermark_at=_EPOCH, watermark_id=0, citizens=0).on_conflict_do_nothing())
        at, last_id = _EPOCH, 0
    else:
        at, last_id = state
    done = 0
    while True:
        rows = s.execute(_changed_since(at, last_id)).all()
        if not rows:
            break
        new_at, new_id = rows[-1].updated_at, rows[-1].id
        claimed = db.changed(s, update(BlockIndexState)
                             .where(BlockIndexState.id == _STATE, BlockIndexState.watermark_at == at,
                                    BlockIndexState.watermark_id == last_id)
                             .values(watermark_at=new_at, watermark_id=new_id)
                             .execution_options(synchronize_session=False))
        if claimed != 1:
            break  # another check moved the watermark: it re-keys these
        _rekey(s, rows, replace=True)
        done += len(rows)
        at, last_id = new_at, new_id
        if len(rows) < BATCH:
            break
    return done


def rebuild_index(progress: Callable[[int], None] | None = None) -> int:
    """Rebuild the whole index, streaming over the registry in batches; the number of citizens.

    The watermark is the last change seen when the rebuild starts: citizens changed while it runs
    are re-keyed by the next :func:`refresh_index`. Flushes, never commits (one transaction).
    """
    s = db.session()
    latest = s.execute(select(Citizen.updated_at, Citizen.id)
                       .order_by(Citizen.updated_at.desc(), Citizen.id.desc()).limit(1)).first()
    pg = s.get_bind().dialect.name == "postgresql"
    table = CitizenBlockKey.__table__
    indexes = sorted(table.indexes, key=lambda ix: str(ix.name))
    if pg:  # empty, and without its indexes until filled: built once at the end, much faster
        s.execute(text("TRUNCATE citizen_block_key, name_frequency"))
        s.execute(DropConstraint(table.primary_key))
        for ix in indexes:
            s.execute(DropIndex(ix))
    else:
        s.execute(delete(CitizenBlockKey))
        s.execute(delete(NameFrequency))
    s.execute(delete(BlockIndexState))
    s.execute(insert(BlockIndexState).values(
        id=_STATE, watermark_at=latest[0] if latest else _EPOCH, watermark_id=latest[1] if latest else 0,
        citizens=0, rebuilt_at=datetime.now(UTC)))
    last_id, done = 0, 0
    counted: tuple[Counter[tuple[str, str]], list[int]] = (Counter(), [0])
    base = select(*PERSON_COLUMNS).outerjoin(Commune, Commune.code == Citizen.permanent_commune_code)
    while True:
        rows = s.execute(base.where(Citizen.id > last_id).order_by(Citizen.id).limit(BATCH)).all()
        if not rows:
            break
        _rekey(s, rows, replace=False, counted=counted)
        done += len(rows)
        last_id = rows[-1][0]
        if progress is not None:
            progress(len(rows))
    if pg:
        s.execute(AddConstraint(table.primary_key))
        for ix in indexes:
            s.execute(CreateIndex(ix))
    _add_counts(s, counted[0], counted[1][0])
    # Fresh statistics, or the planner takes the search's join for a scan of the whole index.
    s.execute(text("ANALYZE citizen_block_key"))
    s.execute(text("ANALYZE name_frequency"))
    return done


def vacuum() -> None:
    """PostgreSQL: ``VACUUM`` the index after a rebuild is committed, so that searches read the
    index alone (index-only scans need the visibility map). Nothing on SQLite."""
    engine = db.get_db().engine
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE) citizen_block_key")


# --------------------------------------------------------------------------------------------
# Reading


def citizen_count() -> int:
    return db.session().scalar(select(func.count()).select_from(Citizen)) or 0


def frequencies(floor: float = 1e-4) -> tuple[NameFrequencies, int]:
    """The shares of folded name parts in the registry, and the birth-date spikes; the number of
    citizens counted. Only the parts commoner than ``floor`` are read: any rarer one weighs as
    ``floor`` (:class:`NameFrequencies`)."""
    s = db.session()
    state = s.execute(select(BlockIndexState.citizens, BlockIndexState.watermark_at, BlockIndexState.watermark_id,
                             BlockIndexState.rebuilt_at).where(BlockIndexState.id == _STATE)).first()
    total = state.citizens if state is not None else 0
    # The counts change only with the index: kept per process until its state row moves (a single
    # query instead of thousands of rows per check; the synchronous API checks one row at a time).
    where = str(s.get_bind().engine.url)
    key = (tuple(state) if state is not None else None, floor)
    cached = _FREQUENCIES.get(where)
    if cached is not None and cached[0] == key:
        return cached[1], total
    shares: dict[str, dict[str, float]] = {"s": {}, "m": {}, "g": {}, "d": {}}
    if total > 0:
        least = max(1, math.ceil(floor * total))
        spike = date_spike_least(total)
        for part, value, n in s.execute(
                select(NameFrequency.part, NameFrequency.value, NameFrequency.citizens)
                .where(NameFrequency.citizens >= min(least, spike))):
            if n >= (spike if part == "d" else least):
                shares[part][value] = n / total
    found = NameFrequencies(shares["s"], shares["m"], shares["g"], floor, shares["d"])
    _FREQUENCIES[where] = (key, found)
    return found, total


#: Database URL -> (the index state and floor they were read at, the frequencies).
_FREQUENCIES: dict[str, tuple[tuple[Any, float], NameFrequencies]] = {}


#: How the candidates' records are joined: on PostgreSQL one index look-up per candidate, forced by a
#: lateral subquery that cannot be flattened (``OFFSET 0``). A plain join lets the planner, which
#: cannot know how few distinct candidates a batch's keys give, pick a merge or hash join that reads
#: the whole citizen table (measured: 0.3-0.5 s a chunk on 1,000,000 citizens, instead of ~0.05 s).
_CANDIDATE_JOIN = {
    False: "JOIN citizen c ON c.id = p.citizen_id AND c.merged_into_id IS NULL",
    True: "CROSS JOIN LATERAL (SELECT c.id, c.full_name, c.birth_year, c.birth_month, c.birth_day, "
          "c.permanent_commune_code, c.id_number, c.sex FROM citizen c "
          "WHERE c.id = p.citizen_id AND c.merged_into_id IS NULL OFFSET 0) c",
}


def candidates(searches: Mapping[int, Collection[str]]) -> dict[int, list[tuple[int, Person]]]:
    """The registry records sharing a key with each search (row number -> its keys): row number ->
    ``[(citizen id, Person)]``. Three statements whatever the number of rows: fill a temporary
    table, then one join to the index and the candidates' details."""
    found: dict[int, list[tuple[int, Person]]] = {}
    pairs = [{"row_no": row_no, "key": key} for row_no, keys in searches.items() for key in sorted(keys)]
    if not pairs:
        return found
    s = db.session()
    s.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS eligibility_search_key "
                   "(row_no INTEGER NOT NULL, key VARCHAR(250) NOT NULL)"))
    s.execute(text("DELETE FROM eligibility_search_key"))
    conn = s.connection()
    if conn.dialect.name == "postgresql":
        data = "".join(f"{p['row_no']}\t{p['key']}\n" for p in pairs)
        if "\\" in data:
            data = data.replace("\\", "\\\\")
        driver: Any = conn.connection.driver_connection
        with driver.cursor() as cur, cur.copy("COPY eligibility_search_key (row_no, key) FROM STDIN") as copy:
            copy.write(data.encode())
        # A temporary table has no statistics until analysed. And the join's cost is overestimated
        # (how few distinct candidates the keys give cannot be known), which would start the JIT
        # compiler: ~0.3 s of compiling for a query that runs in ~0.05 s. Both for this transaction.
        s.execute(text("ANALYZE eligibility_search_key"))
        s.execute(text("SET LOCAL jit = off"))
    else:
        s.execute(text("INSERT INTO eligibility_search_key (row_no, key) VALUES (:row_no, :key)"), pairs)
    # matching.usable_keys in SQL: a row's blocks of at most BLOCK_CAP records when it meets one,
    # else all of its blocks; then the candidates' details (the columns of PERSON_COLUMNS).
    for row in s.execute(text(
            "WITH sizes AS (SELECT k.key, count(*) AS n FROM citizen_block_key k "  # noqa: S608  (fixed text)
            "WHERE k.key IN (SELECT key FROM eligibility_search_key) GROUP BY k.key), "
            "narrow AS (SELECT DISTINCT t.row_no FROM eligibility_search_key t JOIN sizes z ON z.key = t.key "
            "WHERE z.n <= :cap), "
            "used AS (SELECT t.row_no, t.key FROM eligibility_search_key t JOIN sizes z ON z.key = t.key "
            "WHERE z.n <= :cap OR t.row_no NOT IN (SELECT row_no FROM narrow)) "
            "SELECT p.row_no, c.id, c.full_name, c.birth_year, c.birth_month, c.birth_day, "
            "c.permanent_commune_code, m.province_code, c.id_number, c.sex "
            "FROM (SELECT DISTINCT u.row_no, k.citizen_id FROM used u "
            "JOIN citizen_block_key k ON k.key = u.key) p "
            + _CANDIDATE_JOIN[conn.dialect.name == "postgresql"]
            + " LEFT JOIN commune m ON m.code = c.permanent_commune_code"), {"cap": BLOCK_CAP}):
        found.setdefault(row[0], []).append((row[1], person_of(row, 1)))
    return found

