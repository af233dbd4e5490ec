"""Vitals that scale: numerics stored as blocks (one row per parameter per block of seconds).

A new table only. Rows already in ``vital_numerics`` (one per value) stay where they are and are still read;
nothing existing is rewritten, so an upgrade is instant and the checkpoints over old rows stay valid. Wave
chunks become longer (10 s instead of 1 s) without a schema change: the readers accept both.

PostgreSQL only: ``STORAGE EXTERNAL`` on the compressed ``data`` columns stops PostgreSQL from trying to
compress again bytes the codecs have already compressed (a 10-s ECG chunk, about 3.8 kB, still goes to the
TOAST relation in 2 kB slices). Measured for an hour of the simulator's four waves after VACUUM: slices in
TOAST 3.41 MB/h for all vitals tables, the same rows kept inline (``toast_tuple_target = 8160``) 3.71 MB/h,
because a page then holds one 10-s group of chunks and wastes the rest. It is a column setting that applies
to rows written from now on; existing rows are not rewritten.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from console.record import protection

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "vital_numeric_blocks",
        sa.Column("id", BigId, nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("mdc", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(32), nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("t0", sa.Float(), nullable=False),
        sa.Column("t1", sa.Float(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("codec", sa.SmallInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"],
                                name="fk_vital_numeric_blocks_session_id_sessions"),
        sa.PrimaryKeyConstraint("id", name="pk_vital_numeric_blocks"),
    )
    op.create_index("ix_vital_numeric_blocks_session_mdc_t0", "vital_numeric_blocks",
                    ["session_id", "mdc", "t0"])
    if op.get_context().dialect.name == "postgresql":
        for table in ("vital_waves", "vital_numeric_blocks"):
            op.execute(f"ALTER TABLE {table} ALTER COLUMN data SET STORAGE EXTERNAL")
    # append-only like every other record table (the chain's checkpoints cover it too)
    protection.install(op.get_bind(), tables=protection.GUARDED_SINCE["0008"])


def downgrade() -> None:
    protection.drop(op.get_bind(), include_entries=False, tables=protection.GUARDED_SINCE["0008"])
    if op.get_context().dialect.name == "postgresql":
        op.execute("ALTER TABLE vital_waves ALTER COLUMN data SET STORAGE EXTENDED")
    op.drop_table("vital_numeric_blocks")
