"""Registry life events: id card, residence file number, e-mail, merged records and households,
ended relatives and more kinds of them, temporary residences, absences, documents on revisions.

Revision ID: a4e2c9d17b30
Revises: e7a31c5b9d20
Create Date: 2026-12-06 00:10:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'a4e2c9d17b30'
down_revision = 'e7a31c5b9d20'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('citizen') as batch:
        batch.add_column(sa.Column('email', sa.String(length=254), nullable=True))
        batch.add_column(sa.Column('id_card_issued_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('id_card_issued_by', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('id_card_expires_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('residence_file_number', sa.String(length=30), nullable=True))
        batch.add_column(sa.Column('merged_into_id', _ID, nullable=True))
        batch.create_foreign_key(op.f('fk_citizen_merged_into_id_citizen'), 'citizen', ['merged_into_id'], ['id'])
    with op.batch_alter_table('household') as batch:
        batch.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('merged_into_id', _ID, nullable=True))
        batch.create_foreign_key(op.f('fk_household_merged_into_id_household'), 'household',
                                 ['merged_into_id'], ['id'])
    with op.batch_alter_table('citizen_relative') as batch:
        batch.alter_column('kind', existing_type=sa.String(length=10), type_=sa.String(length=20),
                           existing_nullable=False)
        batch.add_column(sa.Column('ended_on', sa.Date(), nullable=True))
    with op.batch_alter_table('citizen_revision') as batch:
        batch.add_column(sa.Column('document_number', sa.String(length=100), nullable=True))
        batch.add_column(sa.Column('document_date', sa.Date(), nullable=True))
        batch.add_column(sa.Column('approved_by', sa.String(length=100), nullable=True))
    op.create_table('citizen_temporary_residence',
    sa.Column('id', _ID, nullable=False),
    sa.Column('citizen_id', _ID, nullable=False),
    sa.Column('commune_code', sa.String(length=5), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('registered_on', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizen.id'],
                            name=op.f('fk_citizen_temporary_residence_citizen_id_citizen')),
    sa.ForeignKeyConstraint(['commune_code'], ['commune.code'],
                            name=op.f('fk_citizen_temporary_residence_commune_code_commune')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_citizen_temporary_residence'))
    )
    op.create_index(op.f('ix_citizen_temporary_residence_citizen_id'), 'citizen_temporary_residence',
                    ['citizen_id'])
    op.create_table('citizen_absence',
    sa.Column('id', _ID, nullable=False),
    sa.Column('citizen_id', _ID, nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('destination', sa.String(length=300), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizen.id'], name=op.f('fk_citizen_absence_citizen_id_citizen')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_citizen_absence'))
    )
    op.create_index(op.f('ix_citizen_absence_citizen_id'), 'citizen_absence', ['citizen_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_citizen_absence_citizen_id'), table_name='citizen_absence')
    op.drop_table('citizen_absence')
    op.drop_index(op.f('ix_citizen_temporary_residence_citizen_id'), table_name='citizen_temporary_residence')
    op.drop_table('citizen_temporary_residence')
    with op.batch_alter_table('citizen_revision') as batch:
        batch.drop_column('approved_by')
        batch.drop_column('document_date')
        batch.drop_column('document_number')
    with op.batch_alter_table('citizen_relative') as batch:
        batch.drop_column('ended_on')
        batch.alter_column('kind', existing_type=sa.String(length=20), type_=sa.String(length=10),
                           existing_nullable=False)
    with op.batch_alter_table('household') as batch:
        batch.drop_constraint(op.f('fk_household_merged_into_id_household'), type_='foreignkey')
        batch.drop_column('merged_into_id')
        batch.drop_column('closed_at')
    with op.batch_alter_table('citizen') as batch:
        batch.drop_constraint(op.f('fk_citizen_merged_into_id_citizen'), type_='foreignkey')
        batch.drop_column('merged_into_id')
        batch.drop_column('residence_file_number')
        batch.drop_column('id_card_expires_on')
        batch.drop_column('id_card_issued_by')
        batch.drop_column('id_card_issued_on')
        batch.drop_column('email')
