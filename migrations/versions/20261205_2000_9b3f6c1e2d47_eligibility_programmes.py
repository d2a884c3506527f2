"""Eligibility: programmes and their rule-set versions (append-only).

Revision ID: 9b3f6c1e2d47
Revises: 42edecf8ae13
Create Date: 2026-12-05 20:00:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '9b3f6c1e2d47'
down_revision = '42edecf8ae13'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('programme',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name_vi', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('legal_basis', sa.String(length=300), nullable=False),
    sa.Column('benefit_category', sa.String(length=40), nullable=False),
    sa.Column('coefficient', sa.Numeric(precision=4, scale=2), nullable=False),
    sa.Column('base_rate', sa.Integer(), nullable=False),
    sa.Column('base_rate_effective', sa.Date(), nullable=False),
    sa.Column('may_receive_id_numbers', sa.Boolean(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('rule_set_version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programme')),
    sa.UniqueConstraint('code', name=op.f('uq_programme_code'))
    )
    op.create_table('programme_rule_set',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('programme_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source_sha256', sa.String(length=64), nullable=False),
    sa.Column('source_name', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['programme_id'], ['programme.id'],
                            name=op.f('fk_programme_rule_set_programme_id_programme')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programme_rule_set')),
    sa.UniqueConstraint('programme_id', 'version', name=op.f('uq_programme_rule_set_programme_id_version'))
    )


def downgrade() -> None:
    op.drop_table('programme_rule_set')
    op.drop_table('programme')
