"""Which OAuth clients may check lists against which programme (registered by an operator).

A programme's back-end calls the API with a ``client_credentials`` token of its own client; it may
check lists only against the programmes it is registered for. Plain functions that flush and
never commit.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete
from sqlalchemy import select

from idsvc import db
from idsvc.audit import service as audit
from idsvc.audit.tags import AuditAction
from idsvc.eligibility.models import Programme
from idsvc.eligibility.models import ProgrammeClient
from idsvc.oidc import clients
from idsvc.oidc.models import OAuthClient


def grant(programme: Programme, client_id: str, *, actor: str) -> bool:
    """Register the client for the programme; False when it already was.

    :raises NotFound: no client has this client_id.
    """
    client = clients.get_client(client_id)
    s = db.session()
    if s.scalar(select(ProgrammeClient.id).where(ProgrammeClient.programme_id == programme.id,
                                                 ProgrammeClient.client_pk == client.id)) is not None:
        return False
    s.add(ProgrammeClient(programme_id=programme.id, client_pk=client.id, granted_by=actor))
    s.flush()
    audit.record(AuditAction.ELIGIBILITY_PROGRAMME_GRANT, actor=actor, subject_type="programme",
                 subject_id=programme.code, data={"client_id": client.client_id})
    return True


def revoke(programme: Programme, client_id: str, *, actor: str) -> bool:
    """Take the client's registration for the programme away; False when it had none.

    Batches it already submitted stay readable by it until they are purged.

    :raises NotFound: no client has this client_id.
    """
    client = clients.get_client(client_id)
    removed = db.changed(db.session(), delete(ProgrammeClient).where(
        ProgrammeClient.programme_id == programme.id, ProgrammeClient.client_pk == client.id))
    if not removed:
        return False
    audit.record(AuditAction.ELIGIBILITY_PROGRAMME_REVOKE, actor=actor, subject_type="programme",
                 subject_id=programme.code, data={"client_id": client.client_id})
    return True


def clients_of(programmes: Iterable[Programme]) -> dict[int, list[str]]:
    """The client_ids registered for each programme (by programme id), sorted."""
    ids = [p.id for p in programmes]
    found: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        for programme_id, client_id in db.session().execute(
                select(ProgrammeClient.programme_id, OAuthClient.client_id)
                .join(OAuthClient, OAuthClient.id == ProgrammeClient.client_pk)
                .where(ProgrammeClient.programme_id.in_(ids)).order_by(OAuthClient.client_id)):
            found[programme_id].append(client_id)
    return found


def registered_client(programme: Programme, client_id: str | None) -> OAuthClient | None:
    """The client, when it is enabled and registered for the programme; else None."""
    if client_id is None:
        return None
    return db.session().scalar(
        select(OAuthClient).join(ProgrammeClient, ProgrammeClient.client_pk == OAuthClient.id)
        .where(ProgrammeClient.programme_id == programme.id, OAuthClient.client_id == client_id,
               OAuthClient.disabled_at.is_(None)))


def client_pk(client_id: str) -> int | None:
    """The primary key of the client with this client_id, or None."""
    return db.session().scalar(select(OAuthClient.id).where(OAuthClient.client_id == client_id))
