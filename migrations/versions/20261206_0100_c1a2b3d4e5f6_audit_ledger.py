"""Audit ledger: a position (seq) for every audit event, and the signed blocks that seal them.

Revision ID: c1a2b3d4e5f6
Revises: b3d9e4f6a170
Create Date: 2026-12-06 01:00:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'c1a2b3d4e5f6'
down_revision = 'b3d9e4f6a170'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    # Existing events stay unsealed (seq NULL): the first `idsvc audit seal` puts them in the log.
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.BigInteger(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_audit_event_seq'), ['seq'])
    op.create_index('ix_audit_event_unsealed', 'audit_event', ['id'],
                    sqlite_where=sa.text('seq IS NULL'), postgresql_where=sa.text('seq IS NULL'))
    op.create_table('ledger_block',
    sa.Column('number', _ID, autoincrement=False, nullable=False),
    sa.Column('first_seq', sa.BigInteger(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('root', sa.String(length=64), nullable=False),
    sa.Column('prev_head_hash', sa.String(length=64), nullable=False),
    sa.Column('head_hash', sa.String(length=64), nullable=False),
    sa.Column('signed_head', sa.Text(), nullable=False),
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('sealed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('leaves', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('number', name=op.f('pk_ledger_block')),
    sa.UniqueConstraint('first_seq', name=op.f('uq_ledger_block_first_seq')),
    sa.UniqueConstraint('head_hash', name=op.f('uq_ledger_block_head_hash'))
    )


def downgrade() -> None:
    op.drop_table('ledger_block')
    op.drop_index('ix_audit_event_unsealed', table_name='audit_event')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_event_seq'), type_='unique')
        batch_op.drop_column('seq')
