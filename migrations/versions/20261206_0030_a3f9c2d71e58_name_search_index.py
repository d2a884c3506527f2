"""Registry search: a trigram index on the folded name's words (PostgreSQL), for searches on words of a name.

SQLite has no trigram index: a search on words of a name reads the table there (the exact folded
name keeps its b-tree index on both engines).

Revision ID: a3f9c2d71e58
Revises: b6d41f0e8a27
Create Date: 2026-12-06 00:30:00+00:00
"""

from __future__ import annotations

from alembic import op

revision = 'a3f9c2d71e58'
down_revision = 'b6d41f0e8a27'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    # pg_trgm ships with PostgreSQL (contrib) and is a trusted extension: a database owner may create it.
    op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    # The folded name, spaces doubled, a space at each end (registry.models.NAME_WORDS): a pattern
    # '% tran % binh %' finds whole words in order, and the trigrams of word boundaries narrow it.
    op.execute("CREATE INDEX ix_citizen_name_words_trgm ON citizen USING gin "
               "((' ' || replace(name_folded, ' ', '  ') || ' ') gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_citizen_name_words_trgm', table_name='citizen')
    # The extension stays: other databases' objects of this one may use it, and it costs nothing.
