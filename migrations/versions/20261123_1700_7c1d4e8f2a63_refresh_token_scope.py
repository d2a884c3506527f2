"""oauth_token.refresh_scope: a refresh token keeps the grant's scope when an access token gets less.

Revision ID: 7c1d4e8f2a63
Revises: 5b7e0c2d9a41
Create Date: 2026-11-23 17:00:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '7c1d4e8f2a63'
down_revision = '5b7e0c2d9a41'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('oauth_token') as batch_op:
        batch_op.add_column(sa.Column('refresh_scope', sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('oauth_token') as batch_op:
        batch_op.drop_column('refresh_scope')
