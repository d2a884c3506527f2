"""Eligibility: clerks' decisions on the matches left to them (the review queue).

Revision ID: b3d9e4f6a170
Revises: a3f9c2d71e58
Create Date: 2026-12-06 00:40:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'b3d9e4f6a170'
down_revision = 'a3f9c2d71e58'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('match_decision',
    sa.Column('id', _ID, nullable=False),
    sa.Column('programme_id', _ID, nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('citizen_id', _ID, nullable=True),
    sa.Column('decided_by', sa.String(length=100), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('batch_id', _ID, nullable=True),
    sa.Column('line', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['check_batch.id'], name=op.f('fk_match_decision_batch_id_check_batch')),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizen.id'], name=op.f('fk_match_decision_citizen_id_citizen')),
    sa.ForeignKeyConstraint(['programme_id'], ['programme.id'],
                            name=op.f('fk_match_decision_programme_id_programme')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_match_decision')),
    sa.UniqueConstraint('programme_id', 'fingerprint', 'sequence',
                        name=op.f('uq_match_decision_programme_id_fingerprint_sequence'))
    )
    op.create_index(op.f('ix_match_decision_citizen_id'), 'match_decision', ['citizen_id'])
    with op.batch_alter_table('check_batch_row', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_fingerprint', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('review_candidate_id', _ID, nullable=True))
    op.create_index('ix_check_batch_row_review_fingerprint', 'check_batch_row', ['review_fingerprint'],
                    sqlite_where=sa.text('review_fingerprint IS NOT NULL'),
                    postgresql_where=sa.text('review_fingerprint IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_check_batch_row_review_fingerprint', table_name='check_batch_row')
    with op.batch_alter_table('check_batch_row', schema=None) as batch_op:
        batch_op.drop_column('review_candidate_id')
        batch_op.drop_column('review_fingerprint')
    op.drop_index(op.f('ix_match_decision_citizen_id'), table_name='match_decision')
    op.drop_table('match_decision')
