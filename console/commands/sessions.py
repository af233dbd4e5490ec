"""``chairside sessions``: list recorded sessions (newest first), as a table or JSON.

Reading needs no log-in; a database that does not exist is refused (nothing is created).
"""

from __future__ import annotations

import argparse
import json

from console.record.cli_support import add_db_argument, positive_int, table, with_database
from console.record.database import Database
from console.record.timeutil import iso

STATUSES = ("in_progress", "interrupted", "closed", "signed", "amended")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("sessions", help="list recorded sessions",
                                   description="List the sessions in the record, newest first. Interrupted "
                                               "sessions (in progress, no console holding them) say so.")
    add_db_argument(parser)
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--status", default=None, choices=STATUSES, help="only sessions with this status")
    parser.add_argument("--patient", default=None, metavar="CODE", help="only this patient's sessions")
    parser.add_argument("--limit", type=positive_int, default=None, help="at most this many (1 or more)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    def act(db: Database) -> int:
        svc = db.service(db.system_user())
        patient_id = None
        if args.patient:
            p = svc.find_patient(args.patient)
            if p is None:
                print("[]" if args.format == "json" else f"no patient with code {args.patient}")
                return 0
            patient_id = p.id
        rows = svc.sessions(status=args.status, patient_id=patient_id, limit=args.limit)
        if args.format == "json":
            print(json.dumps([{
                "id": s.id, "status": s.display_status, "demo": s.demo, "patient": s.patient_code,
                "protocol_id": s.protocol_id, "protocol_version": s.protocol_version, "chair": s.chair,
                "started_at": iso(s.started_at), "started_by": s.started_by,
                "ended_at": iso(s.ended_at) if s.ended_at else None, "entries": s.entry_count,
                "head_hash": s.head_hash} for s in rows], indent=2))
        else:
            if not rows:
                print("no sessions")
                return 0
            print(table([(s.id, s.started_at.astimezone().strftime("%Y-%m-%d %H:%M"), s.patient_code,
                          f"{s.protocol_id} v{s.protocol_version}", s.chair, s.display_status, s.entry_count,
                          "DEMO" if s.demo else "") for s in rows],
                        ("id", "started (local)", "patient", "protocol", "chair", "status", "entries", "")))
        return 0

    return with_database(args, act, must_exist=True)
