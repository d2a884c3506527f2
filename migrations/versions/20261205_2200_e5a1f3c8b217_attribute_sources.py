"""Eligibility: attribute-source lists (poverty, disability, pension), their facts, and the communes
poverty lists cover.

Revision ID: e5a1f3c8b217
Revises: c4d2a7e91f05
Create Date: 2026-12-05 22:00:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'e5a1f3c8b217'
down_revision = 'c4d2a7e91f05'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('source_list',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('file_name', sa.String(length=300), nullable=False),
    sa.Column('issuer', sa.String(length=300), nullable=False),
    sa.Column('valid_on', sa.Date(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('loaded_by', sa.String(length=100), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rows_read', sa.Integer(), nullable=False),
    sa.Column('rows_imported', sa.Integer(), nullable=False),
    sa.Column('rows_rejected', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_source_list')),
    sa.UniqueConstraint('file_sha256', name=op.f('uq_source_list_file_sha256'))
    )
    op.create_index(op.f('ix_source_list_kind'), 'source_list', ['kind'])
    op.create_table('source_fact',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('list_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('citizen_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('value', sa.String(length=100), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('commune_code', sa.String(length=5), nullable=True),
    sa.ForeignKeyConstraint(['list_id'], ['source_list.id'], name=op.f('fk_source_fact_list_id_source_list')),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizen.id'], name=op.f('fk_source_fact_citizen_id_citizen')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_source_fact'))
    )
    op.create_index(op.f('ix_source_fact_list_id'), 'source_fact', ['list_id'])
    op.create_index(op.f('ix_source_fact_citizen_id'), 'source_fact', ['citizen_id'])
    op.create_table('source_list_commune',
    sa.Column('list_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('commune_code', sa.String(length=5), nullable=False),
    sa.ForeignKeyConstraint(['list_id'], ['source_list.id'], name=op.f('fk_source_list_commune_list_id_source_list')),
    sa.PrimaryKeyConstraint('list_id', 'commune_code', name=op.f('pk_source_list_commune'))
    )


def downgrade() -> None:
    op.drop_table('source_list_commune')
    op.drop_index(op.f('ix_source_fact_citizen_id'), table_name='source_fact')
    op.drop_index(op.f('ix_source_fact_list_id'), table_name='source_fact')
    op.drop_table('source_fact')
    op.drop_index(op.f('ix_source_list_kind'), table_name='source_list')
    op.drop_table('source_list')
