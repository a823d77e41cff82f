"""unpublished records: a partial index for the staff queue's 双公示 items, read by every daily digest
(issue #10, bench/sweep.py)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 14:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_credit_record_unpublished",
        "credit_record",
        ["id"],
        unique=False,
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_credit_record_unpublished", table_name="credit_record")
