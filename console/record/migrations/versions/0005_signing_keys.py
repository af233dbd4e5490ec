"""Signing keys and the record's identity: ``user_keys`` (Ed25519 public keys and password-wrapped private
keys) and ``record_meta`` with a random ``record_id`` naming this record in signatures and witness lines.

New tables only (plus one row); existing data is untouched. Sessions signed before this revision carry an
unkeyed seal, which verification reports (see docs/security.md, "Upgrading").

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

from console.record.timeutil import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("public_key", sa.String(100), nullable=False),
        sa.Column("wrapped_private", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("retired_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_user_keys_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_user_keys"),
        sa.UniqueConstraint("key_id", name="uq_user_keys_key_id"),
    )
    op.create_index("ix_user_keys_user_id", "user_keys", ["user_id"])
    meta = op.create_table(
        "record_meta",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_record_meta"),
    )
    op.bulk_insert(meta, [{"name": "record_id", "value": uuid.uuid4().hex}])


def downgrade() -> None:
    op.drop_table("record_meta")
    op.drop_index("ix_user_keys_user_id", table_name="user_keys")
    op.drop_table("user_keys")
