"""Who is signed in has its own place in the status area, for every role (issue 12: it was painted over the
device link's "connection lost, retrying")."""

from __future__ import annotations

from console import cli
from console.commands import gui
from console.record import open_database


def test_a_technician_sees_who_is_signed_in_beside_a_lost_link(qtbot, tmp_path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        db.service(db.system_user("test")).add_user("tech", "Tess Tech", "technician", "correct horse battery")
        tech = db.authenticate("tech", "correct horse battery")
        window, _ = gui.build_window(cli.build_parser().parse_args([]))
        qtbot.addWidget(window)
        assert gui._attach_station(window, db, tech, None, cli.build_parser().parse_args([])) is None
        window.status.set_link_state("Bed 3 IntelliVue", "lost", "cable pulled")
        bar = window.status
        assert bar.user_text() == "Signed in as Tess Tech (technician)"
        assert "for clinicians" in bar.currentMessage()
        assert "connection lost, retrying" in bar.device_text("Bed 3 IntelliVue")
        # three places, three texts: none replaced another
        assert len({bar.user_text(), bar.currentMessage(), bar.device_text("Bed 3 IntelliVue")}) == 3
        window.shutdown()
    finally:
        db.close()
