"""Registry: old identity-card (CMND) numbers, and the pre-2025 communes with their successors.

Revision ID: c4d2a7e91f05
Revises: 9b3f6c1e2d47
Create Date: 2026-12-05 21:00:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'c4d2a7e91f05'
down_revision = '9b3f6c1e2d47'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('citizen_old_number',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.String(length=9), nullable=False),
    sa.Column('citizen_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizen.id'], name=op.f('fk_citizen_old_number_citizen_id_citizen')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_citizen_old_number'))
    )
    op.create_index(op.f('ix_citizen_old_number_number'), 'citizen_old_number', ['number'])
    op.create_index(op.f('ix_citizen_old_number_citizen_id'), 'citizen_old_number', ['citizen_id'])
    op.create_table('legacy_commune',
    sa.Column('code', sa.String(length=5), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('district', sa.String(length=100), nullable=False),
    sa.Column('legacy_province_code', sa.String(length=2), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_legacy_commune'))
    )
    op.create_table('legacy_commune_successor',
    sa.Column('legacy_code', sa.String(length=5), nullable=False),
    sa.Column('commune_code', sa.String(length=5), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['legacy_code'], ['legacy_commune.code'],
                            name=op.f('fk_legacy_commune_successor_legacy_code_legacy_commune')),
    sa.ForeignKeyConstraint(['commune_code'], ['commune.code'],
                            name=op.f('fk_legacy_commune_successor_commune_code_commune')),
    sa.PrimaryKeyConstraint('legacy_code', 'commune_code', name=op.f('pk_legacy_commune_successor'))
    )
    op.create_index(op.f('ix_legacy_commune_successor_commune_code'), 'legacy_commune_successor', ['commune_code'])


def downgrade() -> None:
    op.drop_index(op.f('ix_legacy_commune_successor_commune_code'), table_name='legacy_commune_successor')
    op.drop_table('legacy_commune_successor')
    op.drop_table('legacy_commune')
    op.drop_index(op.f('ix_citizen_old_number_citizen_id'), table_name='citizen_old_number')
    op.drop_index(op.f('ix_citizen_old_number_number'), table_name='citizen_old_number')
    op.drop_table('citizen_old_number')
