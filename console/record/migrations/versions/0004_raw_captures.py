"""Raw captures: the technician's raw-byte recordings of device links, in the record for later replay.

A new table only; nothing existing changes, so an older database upgrades without touching its data.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "raw_captures",
        sa.Column("id", BigId, nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("capture", sa.String(32), nullable=False),
        sa.Column("device", sa.String(100), nullable=False),
        sa.Column("protocol", sa.String(50), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("t0", sa.Float(), nullable=False),
        sa.Column("t1", sa.Float(), nullable=False),
        sa.Column("n_reads", sa.Integer(), nullable=False),
        sa.Column("n_bytes", sa.Integer(), nullable=False),
        sa.Column("codec", sa.SmallInteger(), nullable=False),
        sa.Column("reads", sa.LargeBinary(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name="fk_raw_captures_session_id_sessions"),
        sa.PrimaryKeyConstraint("id", name="pk_raw_captures"),
    )
    op.create_index("ix_raw_captures_session_device_t0", "raw_captures", ["session_id", "device", "t0"])
    op.create_index("ix_raw_captures_capture_t0", "raw_captures", ["capture", "t0"])


def downgrade() -> None:
    op.drop_table("raw_captures")
