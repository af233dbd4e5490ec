"""Append-only guard: the database itself refuses UPDATE and DELETE on clinical entries.

The service never changes an entry (a correction is an amendment); this trigger also stops a careless SQL
session or a future bug from doing it. Someone with full SQL access can still drop the trigger, which is why
the hash chain exists: ``chairside verify`` detects the change either way.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

MESSAGE = "Chairside entries are append-only: a correction is an amendment entry"


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION chairside_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE}';
            END $$""")
        op.execute("CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries "
                   "FOR EACH ROW EXECUTE FUNCTION chairside_entries_append_only()")
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER entries_no_{event.lower()} BEFORE {event} ON entries "
                       f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS entries_append_only ON entries")
        op.execute("DROP FUNCTION IF EXISTS chairside_entries_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS entries_no_update")
        op.execute("DROP TRIGGER IF EXISTS entries_no_delete")
