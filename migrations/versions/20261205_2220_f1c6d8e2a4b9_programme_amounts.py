"""Eligibility: a programme's earlier base rates and its coefficients by person (age, disability).

Revision ID: f1c6d8e2a4b9
Revises: e7a3c5b19d42
Create Date: 2026-12-05 22:20:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'f1c6d8e2a4b9'
down_revision = 'e7a3c5b19d42'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('programme') as batch:
        batch.add_column(sa.Column('base_rate_history', sa.JSON(), nullable=False, server_default='[]'))
        batch.add_column(sa.Column('coefficient_variants', sa.JSON(), nullable=False, server_default='[]'))


def downgrade() -> None:
    with op.batch_alter_table('programme') as batch:
        batch.drop_column('coefficient_variants')
        batch.drop_column('base_rate_history')
