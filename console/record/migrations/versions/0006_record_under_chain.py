"""The whole record under the chain: session header snapshot, chained audit trail, append-only guards.

* ``sessions.header_version`` (1 for every existing session, whose header hash stays as it was) and
  ``sessions.header_snapshot_json`` (the patient's details and the starting user at the start; hashed in
  version-2 headers).
* ``audit_log.prev_hash`` / ``audit_log.hash``: the audit trail becomes a hash chain. The rows already there
  are chained here, in id order, as they are at the upgrade (what happened to them before cannot be known).
* Triggers refusing UPDATE and DELETE on every record table, with the few columns that legitimately change
  (session status forward, head growing; a user's password, active flag and role) left free: see
  :mod:`console.record.protection`, which ``verify`` also uses to report a guard that was removed.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from types import SimpleNamespace

import sqlalchemy as sa
from alembic import op

from console.record import protection
from console.record.canonical import ZERO_HASH
from console.record.chain import audit_hash
from console.record.timeutil import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_AUDIT = sa.table("audit_log", sa.column("id", sa.BigInteger()), sa.column("at", UTCDateTime()),
                  sa.column("user_id", sa.Integer()), sa.column("username", sa.String()),
                  sa.column("role", sa.String()), sa.column("action", sa.String()),
                  sa.column("target", sa.String()), sa.column("before_json", sa.Text()),
                  sa.column("after_json", sa.Text()), sa.column("detail", sa.Text()),
                  sa.column("prev_hash", sa.String()), sa.column("hash", sa.String()))


def upgrade() -> None:
    op.add_column("sessions", sa.Column("header_version", sa.Integer(), nullable=False,
                                        server_default=sa.text("1")))
    op.add_column("sessions", sa.Column("header_snapshot_json", sa.Text(), nullable=True))
    op.add_column("audit_log", sa.Column("prev_hash", sa.String(64), nullable=True))
    op.add_column("audit_log", sa.Column("hash", sa.String(64), nullable=True))
    conn = op.get_bind()
    prev = ZERO_HASH
    cols = [c for c in _AUDIT.c if c.name not in ("prev_hash", "hash")]
    for row in conn.execute(sa.select(*cols).order_by(_AUDIT.c.id)).all():
        h = audit_hash(SimpleNamespace(**row._mapping), prev)
        conn.execute(sa.update(_AUDIT).where(_AUDIT.c.id == row.id).values(prev_hash=prev, hash=h))
        prev = h
    protection.install(conn, tables=protection.GUARDED_SINCE["0006"])


def downgrade() -> None:
    conn = op.get_bind()
    protection.drop(conn, include_entries=False, tables=protection.GUARDED_SINCE["0006"])
    if conn.dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS chairside_append_only()")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("header_snapshot_json")
        batch.drop_column("header_version")
