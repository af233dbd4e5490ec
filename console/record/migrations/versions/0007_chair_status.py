"""Chair status for the central board: one row per chair, overwritten by each publication.

A new table only, outside the clinical record (not chained, not append-only: live status is replaced every
second); nothing existing changes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chair_status",
        sa.Column("chair", sa.String(100), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("status_json", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("chair", name="pk_chair_status"),
    )


def downgrade() -> None:
    op.drop_table("chair_status")
