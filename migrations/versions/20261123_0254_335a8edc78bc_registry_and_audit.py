"""registry and audit

Revision ID: 335a8edc78bc
Revises:
Create Date: 2026-11-23 02:54:20.591182+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '335a8edc78bc'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('subject_type', sa.String(length=30), nullable=True),
    sa.Column('subject_id', sa.String(length=64), nullable=True),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('data', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_event_subject', ['subject_type', 'subject_id', 'at'], unique=False)

    op.create_table('import_batch',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('file_name', sa.String(length=300), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rows_read', sa.Integer(), nullable=False),
    sa.Column('rows_imported', sa.Integer(), nullable=False),
    sa.Column('rows_present', sa.Integer(), nullable=False),
    sa.Column('rows_rejected', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_batch')),
    sa.UniqueConstraint('file_sha256', name=op.f('uq_import_batch_file_sha256'))
    )
    op.create_table('province',
    sa.Column('code', sa.String(length=2), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_province'))
    )
    op.create_table('commune',
    sa.Column('code', sa.String(length=5), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('province_code', sa.String(length=2), nullable=False),
    sa.ForeignKeyConstraint(['province_code'], ['province.code'], name=op.f('fk_commune_province_code_province')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_commune'))
    )
    with op.batch_alter_table('commune', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commune_province_code'), ['province_code'], unique=False)

    op.create_table('legacy_province',
    sa.Column('code', sa.String(length=3), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('successor_code', sa.String(length=2), nullable=False),
    sa.ForeignKeyConstraint(['successor_code'], ['province.code'], name=op.f('fk_legacy_province_successor_code_province')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_legacy_province'))
    )
    op.create_table('household',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('head_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('commune_code', sa.String(length=5), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['commune_code'], ['commune.code'], name=op.f('fk_household_commune_code_commune')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household')),
    sa.UniqueConstraint('number', name=op.f('uq_household_number'))
    )
    op.create_table('citizen',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('id_number', sa.String(length=12), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('name_folded', sa.String(length=200), nullable=False),
    sa.Column('other_names', sa.String(length=200), nullable=True),
    sa.Column('birth_year', sa.SmallInteger(), nullable=False),
    sa.Column('birth_month', sa.SmallInteger(), nullable=True),
    sa.Column('birth_day', sa.SmallInteger(), nullable=True),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('place_of_birth', sa.String(length=200), nullable=True),
    sa.Column('birth_registration_code', sa.String(length=3), nullable=False),
    sa.Column('hometown', sa.String(length=200), nullable=True),
    sa.Column('ethnicity', sa.String(length=40), nullable=True),
    sa.Column('religion', sa.String(length=60), nullable=True),
    sa.Column('nationality', sa.String(length=2), nullable=False),
    sa.Column('blood_type', sa.String(length=3), nullable=True),
    sa.Column('marital_status', sa.String(length=20), nullable=True),
    sa.Column('permanent_commune_code', sa.String(length=5), nullable=True),
    sa.Column('current_commune_code', sa.String(length=5), nullable=True),
    sa.Column('household_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('relationship_to_head', sa.String(length=20), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('date_of_death', sa.Date(), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('import_batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('import_line', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(status = 'alive') = (date_of_death IS NULL)", name=op.f('ck_citizen_death_date_iff_not_alive')),
    sa.CheckConstraint("sex IN ('M', 'F')", name=op.f('ck_citizen_sex')),
    sa.CheckConstraint("status IN ('alive', 'deceased', 'missing')", name=op.f('ck_citizen_status')),
    sa.CheckConstraint('birth_day IS NULL OR birth_month IS NOT NULL', name=op.f('ck_citizen_birth_day_needs_month')),
    sa.CheckConstraint('birth_month IS NULL OR birth_month BETWEEN 1 AND 12', name=op.f('ck_citizen_birth_month')),
    sa.ForeignKeyConstraint(['current_commune_code'], ['commune.code'], name=op.f('fk_citizen_current_commune_code_commune')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_citizen_household_id_household')),
    sa.ForeignKeyConstraint(['import_batch_id'], ['import_batch.id'], name=op.f('fk_citizen_import_batch_id_import_batch')),
    sa.ForeignKeyConstraint(['permanent_commune_code'], ['commune.code'], name=op.f('fk_citizen_permanent_commune_code_commune')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_citizen')),
    sa.UniqueConstraint('id_number', name=op.f('uq_citizen_id_number'))
    )
    with op.batch_alter_table('citizen', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_citizen_household_id'), ['household_id'], unique=False)
        batch_op.create_index('ix_citizen_name_folded_birth_year', ['name_folded', 'birth_year'], unique=False)
        batch_op.create_index(batch_op.f('ix_citizen_permanent_commune_code'), ['permanent_commune_code'], unique=False)

    # household.head_id -> citizen.id closes a cycle: add it once both tables exist.
    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_household_head_id_citizen', 'citizen', ['head_id'], ['id'])

    op.create_table('citizen_number',
    sa.Column('number', sa.String(length=12), nullable=False),
    sa.Column('citizen_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retired_reason', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizen.id'], name=op.f('fk_citizen_number_citizen_id_citizen')),
    sa.PrimaryKeyConstraint('number', name=op.f('pk_citizen_number'))
    )
    with op.batch_alter_table('citizen_number', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_citizen_number_citizen_id'), ['citizen_id'], unique=False)

    op.create_table('citizen_relative',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('citizen_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('id_number', sa.String(length=12), nullable=True),
    sa.Column('full_name', sa.String(length=200), nullable=True),
    sa.Column('nationality', sa.String(length=2), nullable=True),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizen.id'], name=op.f('fk_citizen_relative_citizen_id_citizen')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_citizen_relative'))
    )
    with op.batch_alter_table('citizen_relative', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_citizen_relative_citizen_id'), ['citizen_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_citizen_relative_id_number'), ['id_number'], unique=False)

    op.create_table('citizen_revision',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('citizen_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('source', sa.String(length=30), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizen.id'], name=op.f('fk_citizen_revision_citizen_id_citizen')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_citizen_revision'))
    )
    with op.batch_alter_table('citizen_revision', schema=None) as batch_op:
        batch_op.create_index('ix_citizen_revision_citizen_id_at', ['citizen_id', 'at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.drop_constraint('fk_household_head_id_citizen', type_='foreignkey')

    with op.batch_alter_table('citizen_revision', schema=None) as batch_op:
        batch_op.drop_index('ix_citizen_revision_citizen_id_at')

    op.drop_table('citizen_revision')
    with op.batch_alter_table('citizen_relative', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_citizen_relative_id_number'))
        batch_op.drop_index(batch_op.f('ix_citizen_relative_citizen_id'))

    op.drop_table('citizen_relative')
    with op.batch_alter_table('citizen_number', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_citizen_number_citizen_id'))

    op.drop_table('citizen_number')
    with op.batch_alter_table('citizen', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_citizen_permanent_commune_code'))
        batch_op.drop_index('ix_citizen_name_folded_birth_year')
        batch_op.drop_index(batch_op.f('ix_citizen_household_id'))

    op.drop_table('citizen')
    op.drop_table('household')
    op.drop_table('legacy_province')
    with op.batch_alter_table('commune', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commune_province_code'))

    op.drop_table('commune')
    op.drop_table('province')
    op.drop_table('import_batch')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_subject')
        batch_op.drop_index(batch_op.f('ix_audit_event_at'))

    op.drop_table('audit_event')
