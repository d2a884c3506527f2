"""Indexes for `idsvc purge`: each table's expiry, and the code -> session reference.

``authorization_code.login_session_id`` gets an index too: deleting a session makes PostgreSQL
look for codes that still refer to it, which without one is a scan of every code.

Revision ID: 42edecf8ae13
Revises: 7c1d4e8f2a63
Create Date: 2026-12-05 18:30:00+00:00
"""

from __future__ import annotations

from alembic import op

revision = '42edecf8ae13'
down_revision = '7c1d4e8f2a63'
branch_labels = None
depends_on = None

#: (table, index, columns)
INDEXES = (
    ('authorization_code', 'ix_authorization_code_expires_at', ['expires_at']),
    ('authorization_code', 'ix_authorization_code_login_session_id', ['login_session_id']),
    ('oauth_token', 'ix_oauth_token_expiry', ['refresh_expires_at', 'access_expires_at']),
    ('login_session', 'ix_login_session_expires_at', ['expires_at']),
    ('activation_code', 'ix_activation_code_expires_at', ['expires_at']),
    ('outbox_message', 'ix_outbox_message_created_at', ['created_at']),
)


def upgrade() -> None:
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for table, name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
