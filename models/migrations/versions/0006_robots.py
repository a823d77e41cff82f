"""robots: 企业微信 / 钉钉 / 飞书 group robots registered for a department's alerts (issue #11)

Only a new table: a database already in use upgrades in place.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "robot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("department", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("webhook_url", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=False),
        sa.Column("secret", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
        sa.Column("notice_kinds", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("broken_reason", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("broken_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_index("ix_robot_department", "robot", ["department"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_robot_department", table_name="robot")
    op.drop_table("robot")
