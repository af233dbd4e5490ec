"""Vitals: 1 Hz numeric rows, one-second compressed wave chunks, device alarms and link events.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "vital_numerics",
        sa.Column("id", BigId, nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("mdc", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(32), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("device_time", sa.Float(), nullable=True),
        sa.Column("host_time", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"],
                                name="fk_vital_numerics_session_id_sessions"),
        sa.PrimaryKeyConstraint("id", name="pk_vital_numerics"),
    )
    op.create_index("ix_vital_numerics_session_time", "vital_numerics", ["session_id", "host_time"])
    op.create_table(
        "vital_waves",
        sa.Column("id", BigId, nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("mdc", sa.Integer(), nullable=False),
        sa.Column("fs", sa.Float(), nullable=False),
        sa.Column("t0", sa.Float(), nullable=False),
        sa.Column("host_time", sa.Float(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("gap", sa.Boolean(), nullable=False),
        sa.Column("codec", sa.SmallInteger(), nullable=False),
        sa.Column("scale", sa.Float(), nullable=False),
        sa.Column("offset", sa.Float(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name="fk_vital_waves_session_id_sessions"),
        sa.PrimaryKeyConstraint("id", name="pk_vital_waves"),
    )
    op.create_index("ix_vital_waves_session_mdc_t0", "vital_waves", ["session_id", "mdc", "t0"])
    op.create_table(
        "vital_events",
        sa.Column("id", BigId, nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("mdc", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("host_time", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name="fk_vital_events_session_id_sessions"),
        sa.PrimaryKeyConstraint("id", name="pk_vital_events"),
    )
    op.create_index("ix_vital_events_session_time", "vital_events", ["session_id", "host_time"])


def downgrade() -> None:
    for table in ("vital_events", "vital_waves", "vital_numerics"):
        op.drop_table(table)
