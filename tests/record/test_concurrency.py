"""Two consoles writing entries to one session at the same moment must not collide or fork the chain."""

from __future__ import annotations

import threading

from console.record import open_database
from tests.record.conftest import PASSWORD

PER_CONSOLE = 25


def test_two_consoles_write_one_session_concurrently(db_url, db, svc, session):
    other_db = open_database(db_url)  # a second console: its own engine and connection pool
    try:
        other = other_db.service(other_db.authenticate("carla", PASSWORD))
        start = threading.Barrier(2)
        errors: list[BaseException] = []
        written: dict[str, list[str]] = {"a": [], "b": []}

        def console(name: str, service) -> None:
            try:
                start.wait()
                for i in range(PER_CONSOLE):
                    note = {"text": f"console {name} note {i}"}
                    written[name].append(service.add_entry(session.id, "note", note).id)
            except BaseException as err:  # reported below, in the test's thread
                errors.append(err)

        threads = [threading.Thread(target=console, args=("a", svc)),
                   threading.Thread(target=console, args=("b", other))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        entries = svc.entries(session.id)
        assert [e.seq for e in entries] == list(range(1, 2 * PER_CONSOLE + 1))
        assert {e.id for e in entries} == set(written["a"]) | set(written["b"])
        for name in ("a", "b"):  # each console's own entries keep their order
            mine = [int(e.data["text"].rsplit(" ", 1)[1]) for e in entries
                    if e.data["text"].startswith(f"console {name} ")]
            assert mine == list(range(PER_CONSOLE))
        assert db.verify(session.id).ok
    finally:
        other_db.close()
