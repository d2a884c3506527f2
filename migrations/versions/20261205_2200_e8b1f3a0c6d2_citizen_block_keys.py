"""Eligibility: the block-key index of the registry, name frequencies, and its watermark.

Revision ID: e8b1f3a0c6d2
Revises: c4d2a7e91f05
Create Date: 2026-12-05 22:00:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'e8b1f3a0c6d2'
down_revision = 'c4d2a7e91f05'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('citizen_block_key',
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('citizen_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.PrimaryKeyConstraint('key', 'citizen_id', name=op.f('pk_citizen_block_key'))
    )
    op.create_index(op.f('ix_citizen_block_key_citizen_id'), 'citizen_block_key', ['citizen_id'])
    op.create_table('name_frequency',
    sa.Column('part', sa.String(length=1), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('citizens', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('part', 'value', name=op.f('pk_name_frequency'))
    )
    op.create_table('block_index_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('watermark_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('watermark_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('citizens', sa.Integer(), nullable=False),
    sa.Column('rebuilt_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_block_index_state'))
    )
    op.create_index('ix_citizen_updated_at_id', 'citizen', ['updated_at', 'id'])


def downgrade() -> None:
    op.drop_index('ix_citizen_updated_at_id', table_name='citizen')
    op.drop_table('block_index_state')
    op.drop_table('name_frequency')
    op.drop_index(op.f('ix_citizen_block_key_citizen_id'), table_name='citizen_block_key')
    op.drop_table('citizen_block_key')
