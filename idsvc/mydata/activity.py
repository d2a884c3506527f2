"""Who used my data: a person's entries, read from the audit trail (the events that name them as
their subject) and the registry's history (the revisions of their record), newest first.

Set-based: a page is one bounded, index-ordered query per source (the person's account events, their
citizen events, their record's revisions, on ``ix_audit_event_subject`` and
``ix_citizen_revision_citizen_id_at``), merged by (at, id); the names behind them (agencies,
programmes, staff units) are one query per kind of name. Pages follow each other by keyset (the
last entry's time and id), so a page never shifts when new entries arrive.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any

from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import or_
from sqlalchemy import select

from idsvc import db
from idsvc.audit.models import AuditEvent
from idsvc.eligibility.models import Programme
from idsvc.errors import NotFound
from idsvc.errors import ValidationFailed
from idsvc.i18n import VIETNAM
from idsvc.identity.models import Account
from idsvc.identity.models import StaffRole
from idsvc.oidc.models import ClientPurpose
from idsvc.oidc.models import OAuthClient
from idsvc.oidc.models import OAuthToken
from idsvc.registry.models import Citizen
from idsvc.registry.models import CitizenRevision
from idsvc.registry.models import Commune
from idsvc.registry.models import Province

#: The kinds of entry, in the order the page's filter lists them.
KINDS = ("login", "release", "check", "read", "change", "consent")

#: Audit actions whose subject is the person's account, by the kind of entry they make.
ACCOUNT_ACTIONS: dict[str, str] = {
    "identity:login:success": "login",
    "identity:login:step-up": "login",
    "oidc:token:issue": "login",
    "oidc:userinfo:read": "release",
    "oidc:claims:release": "release",
    "oidc:consent:grant": "consent",
    "oidc:consent:withdraw": "consent",
    "mydata:data:download": "read",
}
#: Audit actions whose subject is the person's registry record (changes of the record are read
#: from its revisions instead: :data:`CHANGE_PREFIXES`).
CITIZEN_ACTIONS: dict[str, str] = {
    "eligibility:person:check": "check",
    "eligibility:person:recheck": "check",
    "eligibility:match:decide": "check",
    "registry:citizen:verify": "check",
    "registry:person:read": "read",
    "eligibility:review:read": "read",
}
#: The audit actions of a change to a record (each also writes a revision): the event a revision's
#: proof rests on.
CHANGE_PREFIXES = ("registry:citizen:", "registry:household:")
#: How long after its revision the audit event of a change is written (the same transaction).
CHANGE_EVENT_WINDOW = timedelta(seconds=60)

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200

_EVENT, _REVISION = 1, 0  # rank of the two sources when two entries share a time


@dataclass(frozen=True)
class Who:
    """Who used the data: an agency (an OIDC client), a programme, a registry office (unit and
    role; never a staff member's name or number), the person themself, or this service."""

    kind: str  # "agency" | "programme" | "office" | "self" | "service"
    name: str | None = None
    #: For "office": the staff role ("clerk", "supervisor", "auditor") and the unit's name.
    role: str | None = None
    unit: str | None = None
    #: For "programme": its name in Vietnamese and in English.
    names: dict[str, str] | None = None


@dataclass(frozen=True)
class Entry:
    """One use of the person's data."""

    kind: str
    #: When, in UTC (the page shows it in Vietnam time).
    at: datetime
    #: "e<id>" (an audit event) or "r<id>" (a revision of the record): the entry's cursor identity.
    key: str
    #: The audit event the entry rests on (its inclusion proof); None when none was found.
    event_id: int | None
    action: str
    who: Who
    #: What, by kind: login {"level", "grant"}; release {"claims", "purpose", "purpose_text", "via"}; check
    #: {"programme", "verdict"} or {"fields", "number_status"}; read {"purpose"}; change
    #: {"fields", "source", "approved_by": Who | None, "document"}; consent {"event", "claims",
    #: "declined", "purpose", "purpose_text"} (purpose_text: {"vi", "en", "legal_basis"} or None).
    what: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        what = dict(self.what)
        if isinstance(what.get("approved_by"), Who):
            what["approved_by"] = _who_json(what["approved_by"])
        return {"kind": self.kind, "at": self.at.astimezone(VIETNAM).isoformat(), "action": self.action,
                "who": _who_json(self.who), "what": what, "audit_event": self.event_id}


def _who_json(who: Who) -> dict[str, Any]:
    return {k: v for k, v in vars(who).items() if v is not None}


@dataclass(frozen=True)
class Page:
    entries: list[Entry]
    #: The cursor of the next (older) page, None on the last page.
    next_cursor: str | None


@dataclass(frozen=True)
class Filters:
    """What the page asks for: kinds (none: all) and a date range, days in Vietnam time, both included."""

    kinds: frozenset[str] = frozenset()
    since: date | None = None
    until: date | None = None

    @classmethod
    def parse(cls, kinds: Iterable[str] = (), since: str | None = None, until: str | None = None) -> Filters:
        """:raises ValidationFailed: an unknown kind, a day that is no ISO date, or a range that ends
        before it starts."""
        wanted = frozenset(k for k in kinds if k)
        unknown = wanted - set(KINDS)
        if unknown:
            raise ValidationFailed(f"unknown kind: {', '.join(sorted(unknown))}", errors={"kind": sorted(unknown)})
        try:
            first = date.fromisoformat(since) if since else None
            last = date.fromisoformat(until) if until else None
        except ValueError:
            raise ValidationFailed("dates are YYYY-MM-DD", errors={"since": "YYYY-MM-DD"}) from None
        if any(day is not None and not FIRST_DAY <= day <= LAST_DAY for day in (first, last)):
            raise ValidationFailed(f"dates are between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}",
                                   errors={"since": "out of range"})
        if first and last and last < first:
            raise ValidationFailed("the range ends before it starts", errors={"until": "before since"})
        return cls(wanted, first, last)

    def wants(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """[start, end) in UTC: from the first day's midnight in Vietnam to the midnight after the last."""
        start = datetime.combine(self.since, time(), VIETNAM).astimezone(UTC) if self.since else None
        end = (datetime.combine(self.until + timedelta(days=1), time(), VIETNAM).astimezone(UTC)
               if self.until else None)
        return start, end


#: The days a filter may name: the service keeps nothing older, and 9999-12-31 has no next midnight.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2199, 12, 31)


@dataclass(frozen=True)
class _Cursor:
    at: datetime
    rank: int
    id: int

    def encode(self) -> str:
        return f"{self.at.astimezone(UTC).strftime('%Y%m%dT%H%M%S%f')}.{self.rank}.{self.id}"

    @classmethod
    def decode(cls, text: str | None) -> _Cursor | None:
        """:raises ValidationFailed: not a cursor this module wrote."""
        if not text:
            return None
        match = re.fullmatch(r"(\d{8}T\d{12})\.([01])\.(\d{1,18})", text)
        if match is None:
            raise ValidationFailed("bad page cursor", errors={"after": "not a cursor"})
        try:
            at = datetime.strptime(match[1], "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC)
        except ValueError:  # digits in the right places, but no such time (a 13th month)
            raise ValidationFailed("bad page cursor", errors={"after": "not a cursor"}) from None
        return cls(at, int(match[2]), int(match[3]))


# -- the page ------------------------------------------------------------------------------------

def entries(account: Account, filters: Filters = Filters(), *, after: str | None = None,
            limit: int = PAGE_SIZE) -> Page:
    """A page of the person's entries, newest first, after the cursor ``after`` (the previous
    page's ``next_cursor``).

    :raises ValidationFailed: a bad cursor or a limit out of range.
    """
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"limit is 1 to {MAX_PAGE_SIZE}")
    cursor = _Cursor.decode(after)
    rows = _rows(account, filters, cursor, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    found = _describe(account, rows)
    last = rows[-1] if more and rows else None
    return Page(found, _Cursor(last[0], last[1], last[2].id).encode() if last else None)


def all_entries(account: Account, filters: Filters = Filters(), *, chunk: int = MAX_PAGE_SIZE) -> Iterator[Entry]:
    """Every entry of the person, newest first, page by page (the download)."""
    after: str | None = None
    while True:
        page = entries(account, filters, after=after, limit=chunk)
        yield from page.entries
        if page.next_cursor is None:
            return
        after = page.next_cursor


def event_of(account: Account, event_id: int) -> AuditEvent:
    """The audit event ``event_id`` when it is one of the person's entries (their own event, or the
    event of a change to their record).

    :raises NotFound: no such event, or someone else's (the two are not told apart).
    """
    event = db.session().get(AuditEvent, event_id)
    if event is not None:
        if (event.subject_type, event.subject_id) == ("account", str(account.id)):
            if event.action in ACCOUNT_ACTIONS:
                return event
        elif (event.subject_type, event.subject_id) == ("citizen", str(account.citizen_id)):
            if event.action in CITIZEN_ACTIONS or event.action.startswith(CHANGE_PREFIXES):
                return event
        elif event.action.startswith(CHANGE_PREFIXES):
            # A change recorded against the household (or the other spouse): the person's if it is
            # the event one of their revisions rests on.
            revisions = db.session().scalars(select(CitizenRevision).where(
                CitizenRevision.citizen_id == account.citizen_id,
                CitizenRevision.at <= event.at, CitizenRevision.at >= event.at - CHANGE_EVENT_WINDOW,
                CitizenRevision.actor == event.actor))
            if any(_change_events([r]).get(r.id) == event.id for r in revisions):
                return event
    raise NotFound(f"No entry {event_id} in your history.")


# -- reading -------------------------------------------------------------------------------------

_Row = tuple[datetime, int, Any]  # (at, rank, AuditEvent | CitizenRevision)


def _keyset(model: Any, rank: int, cursor: _Cursor | None) -> Any:
    """The rows strictly older than the cursor in the order (at desc, rank desc, id desc)."""
    if cursor is None:
        return None
    if cursor.rank == rank:
        return or_(model.at < cursor.at, and_(model.at == cursor.at, model.id < cursor.id))
    if cursor.rank > rank:  # the cursor is an event: revisions at its very time still follow
        return model.at <= cursor.at
    return model.at < cursor.at


def _within(query: Select[Any], model: Any, filters: Filters, cursor: _Cursor | None, rank: int) -> Select[Any]:
    start, end = filters.bounds()
    if start is not None:
        query = query.where(model.at >= start)
    if end is not None:
        query = query.where(model.at < end)
    keyset = _keyset(model, rank, cursor)
    if keyset is not None:
        query = query.where(keyset)
    return query


def _actions(mapping: dict[str, str], filters: Filters) -> list[str]:
    return sorted(action for action, kind in mapping.items() if filters.wants(kind))


def _rows(account: Account, filters: Filters, cursor: _Cursor | None, limit: int) -> list[_Row]:
    s = db.session()
    found: list[_Row] = []
    for subject_type, subject_id, mapping in (("account", account.id, ACCOUNT_ACTIONS),
                                              ("citizen", account.citizen_id, CITIZEN_ACTIONS)):
        actions = _actions(mapping, filters)
        if not actions:
            continue
        query = select(AuditEvent).where(AuditEvent.subject_type == subject_type,
                                         AuditEvent.subject_id == str(subject_id), AuditEvent.action.in_(actions))
        query = _within(query, AuditEvent, filters, cursor, _EVENT)
        found += [(e.at, _EVENT, e) for e in s.scalars(query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                                                        .limit(limit))]
    if filters.wants("change"):
        query = _within(select(CitizenRevision).where(CitizenRevision.citizen_id == account.citizen_id),
                        CitizenRevision, filters, cursor, _REVISION)
        found += [(r.at, _REVISION, r) for r in s.scalars(
            query.order_by(CitizenRevision.at.desc(), CitizenRevision.id.desc()).limit(limit))]
    found.sort(key=lambda row: (row[0], row[1], row[2].id), reverse=True)
    return found[:limit]


# -- describing ----------------------------------------------------------------------------------

def _account_id(actor: str | None) -> int | None:
    kind, _, ident = (actor or "").partition(":")
    return int(ident) if kind == "account" and ident.isascii() and ident.isdigit() else None


def _client_id(actor: str | None) -> str | None:
    kind, _, ident = (actor or "").partition(":")
    return ident if kind == "client" and ident else None


class _Names:
    """The names behind a page's actors, one query per kind of name."""

    def __init__(self, events: list[AuditEvent], revisions: list[CitizenRevision], own_account: int) -> None:
        s = db.session()
        clients = {_client_id(e.actor) for e in events} | {
            (e.data or {}).get("client") for e in events if (e.data or {}).get("client")}
        clients.discard(None)
        self.clients: dict[str, str] = {client_id: name for client_id, name in s.execute(
            select(OAuthClient.client_id, OAuthClient.name).where(OAuthClient.client_id.in_(clients)))
        } if clients else {}
        asked = {((e.data or {}).get("client") or _client_id(e.actor), (e.data or {}).get("purpose"))
                 for e in events if e.action in _PURPOSEFUL and (e.data or {}).get("purpose")}
        self.purposes: dict[tuple[str, str], dict[str, Any]] = {
            (client_id, code): {"vi": vi, "en": en, "legal_basis": basis}
            for client_id, code, vi, en, basis in s.execute(
                select(OAuthClient.client_id, ClientPurpose.code, ClientPurpose.description_vi,
                       ClientPurpose.description_en, ClientPurpose.legal_basis)
                .join(OAuthClient, OAuthClient.id == ClientPurpose.client_pk)
                .where(OAuthClient.client_id.in_({c for c, _ in asked if c}),
                       ClientPurpose.code.in_({p for _, p in asked})))
        } if asked else {}
        codes = {(e.data or {}).get("programme") for e in events} - {None}
        self.programmes: dict[str, dict[str, str]] = {
            code: {"vi": vi, "en": en} for code, vi, en in s.execute(
                select(Programme.code, Programme.name_vi, Programme.name_en).where(Programme.code.in_(codes)))
        } if codes else {}
        staff = {_account_id(e.actor) for e in events} | {_account_id(r.actor) for r in revisions} | {
            _account_id(r.approved_by) for r in revisions}
        staff -= {None, own_account}
        self.roles: dict[int, list[tuple[str, str]]] = {}
        if staff:
            for account_id, role, unit in s.execute(select(StaffRole.account_id, StaffRole.role, StaffRole.unit_code)
                                                    .where(StaffRole.account_id.in_(staff))
                                                    .order_by(StaffRole.id)):
                self.roles.setdefault(account_id, []).append((role, unit))
        units = {u for roles in self.roles.values() for _, u in roles} | {
            str((e.data or {})["unit"]) for e in events if (e.data or {}).get("unit")}
        self.units = _unit_names(units)
        self.own_account = own_account

    def agency(self, client_id: str | None) -> Who:
        return Who("agency", name=self.clients.get(client_id or "", client_id))

    def office(self, actor: str | None, role: str | None = None, unit: str | None = None) -> Who:
        """A staff member as the office they work for: the role and unit the event recorded, else
        the roles the account holds (the first one)."""
        account_id = _account_id(actor)
        if account_id is None:
            return Who("service")
        if account_id == self.own_account:
            return Who("self")
        if role is None and self.roles.get(account_id):
            role, unit = self.roles[account_id][0]
        return Who("office", role=role, unit=self.units.get(unit or "", unit) if unit else None)


#: The actions whose data names a client's purpose.
_PURPOSEFUL = frozenset({"oidc:claims:release", "oidc:consent:grant", "oidc:consent:withdraw"})


def _unit_names(codes: Collection[str]) -> dict[str, str]:
    if not codes:
        return {}
    s = db.session()
    names = {"*": "Việt Nam"}
    for model in (Province, Commune):
        names.update({code: name for code, name in s.execute(
            select(model.code, model.name).where(model.code.in_(codes)))})
    return names


def _describe(account: Account, rows: list[_Row]) -> list[Entry]:
    events = [r[2] for r in rows if r[1] == _EVENT]
    revisions = [r[2] for r in rows if r[1] == _REVISION]
    names = _Names(events, revisions, account.id)
    levels = _token_levels(events)
    proofs = _change_events(revisions)
    out: list[Entry] = []
    for _at, rank, row in rows:
        if rank == _REVISION:
            out.append(_revision_entry(row, names, proofs.get(row.id)))
        else:
            out.append(_event_entry(row, names, levels))
    return out


def _token_levels(events: list[AuditEvent]) -> dict[str, int]:
    """The login level of the issued tokens the events name (older events did not record it)."""
    jtis = {(e.data or {}).get("jti") for e in events if e.action == "oidc:token:issue"
            and (e.data or {}).get("level") is None} - {None}
    if not jtis:
        return {}
    return {jti: level for jti, level in db.session().execute(
        select(OAuthToken.jti, OAuthToken.level).where(OAuthToken.jti.in_(jtis))) if level is not None}


def _event_entry(event: AuditEvent, names: _Names, levels: dict[str, int]) -> Entry:
    data = event.data or {}
    kind = ACCOUNT_ACTIONS.get(event.action) if event.subject_type == "account" else CITIZEN_ACTIONS.get(event.action)
    assert kind is not None
    who: Who
    what: dict[str, Any]
    match event.action:
        case "identity:login:success" | "identity:login:step-up":
            who, what = Who("service"), {"level": data.get("level"), "grant": "login"}
        case "oidc:token:issue":
            who = names.agency(_client_id(event.actor))
            what = {"level": data.get("level", levels.get(data.get("jti", ""))), "grant": data.get("grant_type")}
        case "oidc:userinfo:read" | "oidc:claims:release":
            client = data.get("client") or _client_id(event.actor)
            who = names.agency(client)
            what = {"claims": sorted(c for c in data.get("claims", ()) if c != "sub"),
                    "purpose": data.get("purpose"), "via": data.get("via", "userinfo"),
                    "purpose_text": names.purposes.get((client or "", data.get("purpose") or ""))}
        case "oidc:consent:grant" | "oidc:consent:withdraw":
            client = data.get("client") or _client_id(event.actor)
            who = names.agency(client)
            what = {"event": data.get("event") or ("withdrawn" if event.action.endswith("withdraw") else "granted"),
                    "claims": sorted(data.get("claims", ())), "declined": sorted(data.get("declined", ())),
                    "purpose": data.get("purpose"),
                    "purpose_text": names.purposes.get((client or "", data.get("purpose") or ""))}
        case "registry:citizen:verify":
            who = names.agency(_client_id(event.actor)) if _client_id(event.actor) else names.office(event.actor)
            what = {"fields": dict(data.get("fields", {})), "number_status": data.get("number_status")}
        case "mydata:data:download":
            who, what = Who("self"), {"purpose": "download"}
        case "registry:person:read":
            who = names.office(event.actor, data.get("role"), data.get("unit"))
            what = {"purpose": data.get("purpose")}
        case _:  # the eligibility events: a programme's check, a clerk's read or decision
            programme = data.get("programme")
            who = Who("programme", name=programme, names=names.programmes.get(programme or ""))
            what = {"programme": programme, "verdict": data.get("verdict")}
            if event.action == "eligibility:match:decide":
                what["verdict"] = "MATCHED"
    return Entry(kind, event.at, f"e{event.id}", event.id, event.action, who, what)


def _revision_entry(revision: CitizenRevision, names: _Names, event_id: int | None) -> Entry:
    approver = names.office(revision.approved_by) if revision.approved_by else None
    what = {"fields": sorted(revision.changes or {}), "source": revision.source, "approved_by": approver,
            "document": revision.document_number is not None, "version": revision.version}
    return Entry("change", revision.at, f"r{revision.id}", event_id, f"registry:revision:{revision.source}",
                 names.office(revision.actor), what)


def _change_events(revisions: list[CitizenRevision]) -> dict[int, int]:
    """The audit event of each revision's change: the first change event its actor wrote after it
    in the same transaction, about the person or their household (one query for the page)."""
    if not revisions:
        return {}
    # Through the subject index only: the person's own events and their households' (never a scan
    # of everything written in a time window, which at thousands of events a second is millions).
    citizen_id = revisions[0].citizen_id
    households = {str(v) for r in revisions for v in ((r.changes or {}).get("household_id") or []) if v}
    current = db.session().scalar(select(Citizen.household_id).where(Citizen.id == citizen_id))
    if current is not None:
        households.add(str(current))
    subjects = [and_(AuditEvent.subject_type == "citizen", AuditEvent.subject_id == str(citizen_id))]
    if households:
        subjects.append(and_(AuditEvent.subject_type == "household", AuditEvent.subject_id.in_(households)))
    found = list(db.session().scalars(
        select(AuditEvent).where(or_(*subjects), AuditEvent.at >= min(r.at for r in revisions),
                                 AuditEvent.at <= max(r.at for r in revisions) + CHANGE_EVENT_WINDOW,
                                 AuditEvent.actor.in_({r.actor for r in revisions}),
                                 or_(*(AuditEvent.action.startswith(p) for p in CHANGE_PREFIXES)))
        .order_by(AuditEvent.at, AuditEvent.id)))
    matched: dict[int, int] = {}
    used: set[int] = set()
    for revision in sorted(revisions, key=lambda r: (r.at, r.id)):
        for event in found:
            if event.id in used or event.actor != revision.actor or event.at < revision.at \
                    or event.at > revision.at + CHANGE_EVENT_WINDOW:
                continue
            if _concerns(event, revision):
                matched[revision.id] = event.id
                used.add(event.id)
                break
    return matched


def _concerns(event: AuditEvent, revision: CitizenRevision) -> bool:
    if event.subject_type == "citizen":
        data = event.data or {}
        return event.subject_id == str(revision.citizen_id) or str(data.get("spouse")) == str(revision.citizen_id) \
            or str(data.get("duplicate")) == str(revision.citizen_id)
    if event.subject_type == "household":
        households = {str(v) for pair in [(revision.changes or {}).get("household_id") or []] for v in pair if v}
        data = event.data or {}
        return not households or event.subject_id in households or str(data.get("new_household")) in households
    return False
