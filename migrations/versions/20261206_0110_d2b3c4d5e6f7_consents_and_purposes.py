"""OIDC: client purposes and claim allow-lists, append-only consent records, signed userinfo.

Each client gets the purpose ``login`` (a trusted client's is statutory) and an allow-list of the
claims of its scopes; every consent row becomes records of that purpose ('granted', and
'withdrawn' when it was revoked), and the ``consent`` table goes.

Revision ID: d2b3c4d5e6f7
Revises: c1a2b3d4e5f6
Create Date: 2026-12-06 01:10:00+00:00
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = 'd2b3c4d5e6f7'
down_revision = 'c1a2b3d4e5f6'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_TIME = sa.DateTime(timezone=True)

#: The claims of each scope when this migration was written (none of them sensitive).
_SCOPE_CLAIMS = {
    "profile": ("name", "family_name", "middle_name", "given_name", "updated_at"),
    "birthdate": ("birthdate",),
    "gender": ("gender",),
    "address": ("address", "vn_temporary_residence"),
    "email": ("email", "email_verified"),
    "id_card": ("vn_id_card",),
    "id_number": ("personal_id_number",),
}
_LOGIN_VI = "Đăng nhập vào dịch vụ và các thông tin dịch vụ cần"
_LOGIN_EN = "Logging in to the service, with the information it needs"

_client = sa.table('oauth_client', sa.column('id', _ID), sa.column('scopes', sa.JSON),
                   sa.column('trusted', sa.Boolean), sa.column('allowed_claims', sa.JSON))
_purpose = sa.table('client_purpose', sa.column('id', _ID), sa.column('client_pk', _ID), sa.column('code', sa.String),
                    sa.column('description_vi', sa.String), sa.column('description_en', sa.String),
                    sa.column('legal_basis', sa.String), sa.column('retention_days', sa.Integer),
                    sa.column('consent_days', sa.Integer), sa.column('created_at', _TIME))
_record = sa.table('consent_record', sa.column('id', _ID), sa.column('account_id', _ID),
                   sa.column('client_pk', _ID), sa.column('purpose_id', _ID), sa.column('event', sa.String),
                   sa.column('claims', sa.JSON), sa.column('declined', sa.JSON), sa.column('level', sa.SmallInteger),
                   sa.column('at', _TIME), sa.column('expires_at', _TIME))
_consent = sa.table('consent', sa.column('id', _ID), sa.column('account_id', _ID), sa.column('client_pk', _ID),
                    sa.column('scopes', sa.JSON), sa.column('granted_at', _TIME), sa.column('revoked_at', _TIME))


def _claims_of(scopes: Any) -> list[str]:
    return sorted({claim for scope in scopes or () for claim in _SCOPE_CLAIMS.get(scope, ())})


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def upgrade() -> None:
    # Columns are added with ALTER TABLE on both engines: SQLite would otherwise rebuild tables
    # that other rows reference (a client's tokens, a code's tokens), which its foreign keys refuse.
    op.add_column('oauth_client', sa.Column('allowed_claims', sa.JSON(), nullable=False, server_default='[]'))
    op.add_column('oauth_client', sa.Column('userinfo_signed_response_alg', sa.String(length=10), nullable=True))
    op.create_table('client_purpose',
    sa.Column('id', _ID, nullable=False),
    sa.Column('client_pk', _ID, nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('description_vi', sa.String(length=1000), nullable=False),
    sa.Column('description_en', sa.String(length=1000), nullable=False),
    sa.Column('legal_basis', sa.String(length=10), nullable=False),
    sa.Column('retention_days', sa.Integer(), nullable=True),
    sa.Column('consent_days', sa.Integer(), nullable=True),
    sa.Column('created_at', _TIME, nullable=False),
    sa.CheckConstraint("legal_basis IN ('consent', 'statutory')", name=op.f('ck_client_purpose_legal_basis')),
    sa.ForeignKeyConstraint(['client_pk'], ['oauth_client.id'], name=op.f('fk_client_purpose_client_pk_oauth_client')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client_purpose')),
    sa.UniqueConstraint('client_pk', 'code', name=op.f('uq_client_purpose_client_pk_code'))
    )
    op.create_table('consent_record',
    sa.Column('id', _ID, nullable=False),
    sa.Column('account_id', _ID, nullable=False),
    sa.Column('client_pk', _ID, nullable=False),
    sa.Column('purpose_id', _ID, nullable=False),
    sa.Column('event', sa.String(length=10), nullable=False),
    sa.Column('claims', sa.JSON(), nullable=False),
    sa.Column('declined', sa.JSON(), nullable=False),
    sa.Column('level', sa.SmallInteger(), nullable=False),
    sa.Column('at', _TIME, nullable=False),
    sa.Column('expires_at', _TIME, nullable=True),
    sa.CheckConstraint("event IN ('granted', 'narrowed', 'withdrawn', 'expired')",
                       name=op.f('ck_consent_record_event')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_consent_record_account_id_account')),
    sa.ForeignKeyConstraint(['client_pk'], ['oauth_client.id'], name=op.f('fk_consent_record_client_pk_oauth_client')),
    sa.ForeignKeyConstraint(['purpose_id'], ['client_purpose.id'],
                            name=op.f('fk_consent_record_purpose_id_client_purpose')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_record'))
    )
    op.create_index('ix_consent_record_current', 'consent_record', ['account_id', 'client_pk', 'purpose_id', 'id'])
    for table in ('authorization_code', 'oauth_token'):
        op.add_column(table, sa.Column('purpose_id', _ID, sa.ForeignKey(
            'client_purpose.id', name=op.f(f'fk_{table}_purpose_id_client_purpose')), nullable=True),
            inline_references=_sqlite())
        op.add_column(table, sa.Column('claims_request', sa.JSON(), nullable=True))

    conn = op.get_bind()
    now = datetime.now(UTC)
    purposes: dict[int, int] = {}
    for client_pk, scopes, trusted in conn.execute(sa.select(_client.c.id, _client.c.scopes, _client.c.trusted)):
        conn.execute(_client.update().where(_client.c.id == client_pk).values(allowed_claims=_claims_of(scopes)))
        conn.execute(_purpose.insert().values(
            client_pk=client_pk, code='login', description_vi=_LOGIN_VI, description_en=_LOGIN_EN,
            legal_basis='statutory' if trusted else 'consent', retention_days=None, consent_days=None,
            created_at=now))
        purposes[client_pk] = conn.execute(sa.select(_purpose.c.id).where(_purpose.c.client_pk == client_pk)).scalar_one()
    rows = conn.execute(sa.select(_consent.c.account_id, _consent.c.client_pk, _consent.c.scopes,
                                  _consent.c.granted_at, _consent.c.revoked_at).order_by(_consent.c.id)).all()
    for account_id, client_pk, scopes, granted_at, revoked_at in rows:
        common = {"account_id": account_id, "client_pk": client_pk, "purpose_id": purposes[client_pk],
                  "declined": [], "level": 1, "expires_at": None}
        conn.execute(_record.insert().values(**common, event='granted', claims=_claims_of(scopes), at=granted_at))
        if revoked_at is not None:
            conn.execute(_record.insert().values(**common, event='withdrawn', claims=[], at=revoked_at))
    for table in ('authorization_code', 'oauth_token'):
        rows_of = sa.table(table, sa.column('client_pk', _ID), sa.column('account_id', _ID),
                           sa.column('purpose_id', _ID))
        conn.execute(rows_of.update().where(rows_of.c.account_id.is_not(None)).values(purpose_id=sa.select(
            _purpose.c.id).where(_purpose.c.client_pk == rows_of.c.client_pk).scalar_subquery()))
    if not _sqlite():  # the default only filled the existing rows (SQLite cannot drop it in place)
        op.alter_column('oauth_client', 'allowed_claims', existing_type=sa.JSON(), server_default=None)
    op.drop_table('consent')


def downgrade() -> None:
    op.create_table('consent',
    sa.Column('id', _ID, nullable=False),
    sa.Column('account_id', _ID, nullable=False),
    sa.Column('client_pk', _ID, nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('granted_at', _TIME, nullable=False),
    sa.Column('revoked_at', _TIME, nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_consent_account_id_account')),
    sa.ForeignKeyConstraint(['client_pk'], ['oauth_client.id'], name=op.f('fk_consent_client_pk_oauth_client')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent')),
    sa.UniqueConstraint('account_id', 'client_pk', name=op.f('uq_consent_account_id_client_pk'))
    )
    conn = op.get_bind()
    newest: dict[tuple[int, int], Any] = {}
    for row in conn.execute(sa.select(_record).order_by(_record.c.id)):
        newest[(row.account_id, row.client_pk)] = row
    for (account_id, client_pk), row in newest.items():
        granted = set(row.claims or ())
        scopes = ["openid", *(s for s, claims in _SCOPE_CLAIMS.items() if granted.issuperset(claims))]
        conn.execute(_consent.insert().values(
            account_id=account_id, client_pk=client_pk, scopes=scopes, granted_at=row.at,
            revoked_at=row.at if row.event in ('withdrawn', 'expired') else None))
    for table in ('oauth_token', 'authorization_code'):
        if _sqlite():  # its foreign key is unnamed there (added inline): the rebuild leaves it out
            with op.batch_alter_table(table, schema=None) as batch_op:
                batch_op.drop_column('claims_request')
                batch_op.drop_column('purpose_id')
        else:
            op.drop_constraint(op.f(f'fk_{table}_purpose_id_client_purpose'), table, type_='foreignkey')
            op.drop_column(table, 'claims_request')
            op.drop_column(table, 'purpose_id')
    op.drop_index('ix_consent_record_current', table_name='consent_record')
    op.drop_table('consent_record')
    op.drop_table('client_purpose')
    op.drop_column('oauth_client', 'userinfo_signed_response_alg')
    op.drop_column('oauth_client', 'allowed_claims')
