"""What ``chairside`` puts together: the chair's device profiles, the Tools menu, per-role panels."""

from __future__ import annotations

import argparse

from console import cli
from console.commands import gui
from console.record import open_database


def _args(*argv: str) -> argparse.Namespace:
    return cli.build_parser().parse_args(list(argv))


def _technician(db):
    admin_svc = db.service(db.system_user("test"))
    admin_svc.add_user("tech", "Tess Tech", "technician", "correct horse battery")
    return db.authenticate("tech", "correct horse battery")


def test_the_chairs_device_profiles_replace_the_simulator(qtbot, tmp_path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        tech = _technician(db)
        svc = db.service(tech)
        svc.save_device_profile("Bed 3 IntelliVue", "intellivue", "socket://127.0.0.1:9", {"baudrate": 115200},
                                chair="3")
        svc.save_device_profile("Bed 1 Masimo", "masimo", "/dev/ttyUSB7", {}, chair="1")
        profiles = gui._chair_profiles(db, tech, "3")
        assert [p.name for p in profiles] == ["Bed 3 IntelliVue"]
        window, simulator = gui.build_window(_args("--chair", "3"), profiles)
        qtbot.addWidget(window)
        assert simulator is None and not window.demo
        [thread] = window.threads
        assert thread.link.url == "socket://127.0.0.1:9" and thread.link.driver.name == "intellivue"
        assert thread.link.settings.baudrate == 115200
        window.shutdown()
    finally:
        db.close()


def test_tools_menu_opens_device_setup_for_a_technician(qtbot, tmp_path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        tech = _technician(db)
        window, _ = gui.build_window(_args())
        qtbot.addWidget(window)
        gui._add_menus(window, db, tech, None)
        [tools] = [a for a in window.menuBar().actions() if a.text() == "&Tools"]
        [setup] = [a for a in tools.menu().actions() if a.text().startswith("Device setup")]
        setup.trigger()
        [dialog] = window.tool_windows
        assert dialog.isVisible()
        dialog.close()
        window.shutdown()
    finally:
        db.close()


def test_tools_menu_opens_the_session_browser_read_only(qtbot, tmp_path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        admin_svc = db.service(db.system_user("test"))
        admin_svc.add_user("aud", "Audrey Auditor", "auditor", "correct horse battery")
        auditor = db.authenticate("aud", "correct horse battery")
        window, _ = gui.build_window(_args())
        qtbot.addWidget(window)
        gui._add_menus(window, db, auditor, None)
        [tools] = [a for a in window.menuBar().actions() if a.text() == "&Tools"]
        [review] = [a for a in tools.menu().actions() if a.text().startswith("Review sessions")]
        review.trigger()
        [browser] = window.tool_windows
        assert browser.isVisible() and type(browser).__name__ == "SessionBrowser"
        browser.close()
        window.shutdown()
    finally:
        db.close()


def test_a_record_without_users_explains_how_to_create_the_first(tmp_path, monkeypatch, capsys) -> None:
    messages: list[str] = []
    monkeypatch.setattr(gui, "_show_error", lambda title, text: messages.append(text))
    db = open_database(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        assert gui._login(db) is None
    finally:
        db.close()
    assert "chairside users add" in messages[0] and "chairside users add" in capsys.readouterr().err
