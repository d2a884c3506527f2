"""Eligibility: enrolments, one active per programme and person, with what the last check saw.

Revision ID: e7a3c5b19d42
Revises: e8b1f3a0c6d2
Create Date: 2026-12-05 22:10:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'e7a3c5b19d42'
down_revision = 'e8b1f3a0c6d2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('enrolment',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('programme_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('citizen_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('enrolled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('enrolled_by', sa.String(length=100), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_verdict', sa.String(length=20), nullable=False),
    sa.Column('last_reasons', sa.JSON(), nullable=False),
    sa.Column('last_commune_code', sa.String(length=5), nullable=True),
    sa.Column('last_status', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['programme_id'], ['programme.id'], name=op.f('fk_enrolment_programme_id_programme')),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizen.id'], name=op.f('fk_enrolment_citizen_id_citizen')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrolment'))
    )
    op.create_index(op.f('ix_enrolment_citizen_id'), 'enrolment', ['citizen_id'])
    op.create_index('uq_enrolment_active', 'enrolment', ['programme_id', 'citizen_id'], unique=True,
                    sqlite_where=sa.text('ended_at IS NULL'), postgresql_where=sa.text('ended_at IS NULL'))


def downgrade() -> None:
    op.drop_index('uq_enrolment_active', table_name='enrolment')
    op.drop_index(op.f('ix_enrolment_citizen_id'), table_name='enrolment')
    op.drop_table('enrolment')
