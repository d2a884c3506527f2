"""Eligibility: the clients registered for each programme, and asynchronous list checks (batches).

Revision ID: e7a31c5b9d20
Revises: f1c6d8e2a4b9
Create Date: 2026-12-05 22:30:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'e7a31c5b9d20'
down_revision = 'f1c6d8e2a4b9'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('programme_client',
    sa.Column('id', _ID, nullable=False),
    sa.Column('programme_id', _ID, nullable=False),
    sa.Column('client_pk', _ID, nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('granted_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['client_pk'], ['oauth_client.id'], name=op.f('fk_programme_client_client_pk_oauth_client')),
    sa.ForeignKeyConstraint(['programme_id'], ['programme.id'], name=op.f('fk_programme_client_programme_id_programme')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programme_client')),
    sa.UniqueConstraint('programme_id', 'client_pk', name=op.f('uq_programme_client_programme_id_client_pk'))
    )
    op.create_index(op.f('ix_programme_client_client_pk'), 'programme_client', ['client_pk'])
    op.create_table('check_batch',
    sa.Column('id', _ID, nullable=False),
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('programme_id', _ID, nullable=False),
    sa.Column('client_pk', _ID, nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('reference_date', sa.Date(), nullable=False),
    sa.Column('submitted_on', sa.Date(), nullable=False),
    sa.Column('rule_set_version', sa.Integer(), nullable=True),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('rows_resolved', sa.Integer(), nullable=False),
    sa.Column('rows_done', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_pk'], ['oauth_client.id'], name=op.f('fk_check_batch_client_pk_oauth_client')),
    sa.ForeignKeyConstraint(['programme_id'], ['programme.id'], name=op.f('fk_check_batch_programme_id_programme')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_batch')),
    sa.UniqueConstraint('key', name=op.f('uq_check_batch_key'))
    )
    op.create_index(op.f('ix_check_batch_client_pk'), 'check_batch', ['client_pk'])
    op.create_index(op.f('ix_check_batch_programme_id'), 'check_batch', ['programme_id'])
    op.create_index('ix_check_batch_state_created_at', 'check_batch', ['state', 'created_at'])
    op.create_table('check_batch_chunk',
    sa.Column('id', _ID, nullable=False),
    sa.Column('batch_id', _ID, nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claims', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['check_batch.id'], name=op.f('fk_check_batch_chunk_batch_id_check_batch')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_batch_chunk')),
    sa.UniqueConstraint('batch_id', 'number', name=op.f('uq_check_batch_chunk_batch_id_number'))
    )
    op.create_index('ix_check_batch_chunk_state', 'check_batch_chunk', ['state'])
    op.create_table('check_batch_row',
    sa.Column('batch_id', _ID, nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('chunk', sa.Integer(), nullable=False),
    sa.Column('values', sa.JSON(), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('resolution', sa.JSON(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['check_batch.id'], name=op.f('fk_check_batch_row_batch_id_check_batch')),
    sa.PrimaryKeyConstraint('batch_id', 'line', name=op.f('pk_check_batch_row'))
    )
    op.create_index('ix_check_batch_row_batch_id_chunk', 'check_batch_row', ['batch_id', 'chunk'])


def downgrade() -> None:
    op.drop_index('ix_check_batch_row_batch_id_chunk', table_name='check_batch_row')
    op.drop_table('check_batch_row')
    op.drop_index('ix_check_batch_chunk_state', table_name='check_batch_chunk')
    op.drop_table('check_batch_chunk')
    op.drop_index('ix_check_batch_state_created_at', table_name='check_batch')
    op.drop_index(op.f('ix_check_batch_programme_id'), table_name='check_batch')
    op.drop_index(op.f('ix_check_batch_client_pk'), table_name='check_batch')
    op.drop_table('check_batch')
    op.drop_index(op.f('ix_programme_client_client_pk'), table_name='programme_client')
    op.drop_table('programme_client')
