"""Merge point of the eligibility migrations made side by side (clients and batches, block keys,
enrolments); it changes nothing. Drop it once they are relinked into one chain.

Revision ID: f0c2e4a6b8d1
Revises: e7a31c5b9d20, e7a3c5b19d42, e8b1f3a0c6d2
Create Date: 2026-12-05 22:10:00+00:00
"""

from __future__ import annotations

revision = 'f0c2e4a6b8d1'
down_revision = ('e7a31c5b9d20', 'e7a3c5b19d42', 'e8b1f3a0c6d2')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
