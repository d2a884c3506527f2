"""Office: proposals of registry operations (maker-checker).

Revision ID: b6d41f0e8a27
Revises: a4e2c9d17b30
Create Date: 2026-12-06 00:20:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'b6d41f0e8a27'
down_revision = 'a4e2c9d17b30'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('office_proposal',
    sa.Column('id', _ID, nullable=False),
    sa.Column('operation', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('citizen_id', _ID, nullable=True),
    sa.Column('other_citizen_id', _ID, nullable=True),
    sa.Column('household_id', _ID, nullable=True),
    sa.Column('unit_code', sa.String(length=5), nullable=False),
    sa.Column('province_code', sa.String(length=2), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('touched', sa.JSON(), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=True),
    sa.Column('other_base_version', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('document_number', sa.String(length=100), nullable=True),
    sa.Column('document_date', sa.Date(), nullable=True),
    sa.Column('proposed_by_account_id', _ID, nullable=False),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_account_id', _ID, nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'applied', 'rejected', 'withdrawn')",
                       name=op.f('ck_office_proposal_status')),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizen.id'], name=op.f('fk_office_proposal_citizen_id_citizen')),
    sa.ForeignKeyConstraint(['other_citizen_id'], ['citizen.id'],
                            name=op.f('fk_office_proposal_other_citizen_id_citizen')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'],
                            name=op.f('fk_office_proposal_household_id_household')),
    sa.ForeignKeyConstraint(['proposed_by_account_id'], ['account.id'],
                            name=op.f('fk_office_proposal_proposed_by_account_id_account')),
    sa.ForeignKeyConstraint(['decided_by_account_id'], ['account.id'],
                            name=op.f('fk_office_proposal_decided_by_account_id_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_office_proposal'))
    )
    op.create_index('ix_office_proposal_status_province_code_id', 'office_proposal',
                    ['status', 'province_code', 'id'])
    op.create_index('ix_office_proposal_citizen_id_id', 'office_proposal', ['citizen_id', 'id'])
    op.create_index('ix_office_proposal_proposed_by_account_id_id', 'office_proposal',
                    ['proposed_by_account_id', 'id'])


def downgrade() -> None:
    op.drop_index('ix_office_proposal_proposed_by_account_id_id', table_name='office_proposal')
    op.drop_index('ix_office_proposal_citizen_id_id', table_name='office_proposal')
    op.drop_index('ix_office_proposal_status_province_code_id', table_name='office_proposal')
    op.drop_table('office_proposal')
