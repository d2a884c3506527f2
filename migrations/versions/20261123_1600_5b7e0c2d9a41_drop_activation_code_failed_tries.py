"""Drop activation_code.failed_tries: wrong activation codes count towards the account's lockout.

Revision ID: 5b7e0c2d9a41
Revises: 44408d1e73a9
Create Date: 2026-11-23 16:00:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '5b7e0c2d9a41'
down_revision = '44408d1e73a9'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('activation_code') as batch_op:
        batch_op.drop_column('failed_tries')


def downgrade() -> None:
    with op.batch_alter_table('activation_code') as batch_op:
        batch_op.add_column(sa.Column('failed_tries', sa.SmallInteger(), nullable=False, server_default='0'))
