"""``chairside`` (the GUI command): argument checks, --screenshot, and the platform-plugin hint."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from console import cli
from console.app import PLATFORM_HINT

PROJECT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("argv, words", [
    (["--scenario", "nope"], "unknown scenario 'nope'"),
    (["--speed", "0"], "--speed must be from 1 to 600"),
    (["--speed", "601"], "--speed must be from 1 to 600"),
    (["--speed", "fast"], "invalid float value"),
    (["--seed", "-1"], "--seed must not be negative"),
    (["--quit-after", "0"], "--quit-after must be a positive"),
    (["--screenshot", "w.jpg"], "give a path ending in .png"),
    (["--screenshot", "/no/such/folder/w.png"], "does not exist"),
    (["--device", "intellivue"], "--device takes PROTOCOL:URL"),
    (["--device", "acme:/dev/ttyS0"], "unknown protocol 'acme'"),
    (["--demo", "--device", "intellivue:/dev/ttyUSB0"], "--demo shows the simulator"),
])
def test_wrong_arguments_exit_2_with_a_clear_message(argv, words, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert words in capsys.readouterr().err


def test_scenario_error_lists_the_scenarios(capsys) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--scenario", "bogus"])
    err = capsys.readouterr().err
    for name in ("stable", "hypertensive", "desaturation"):
        assert name in err


def test_help_lists_the_console_options(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for option in ("--demo", "--db URL", "--scenario NAME", "--speed X", "--seed N", "--device PROTOCOL:URL",
                   "--screenshot PATH", "--quit-after SECONDS"):
        assert option in out


def test_db_url_is_kept_for_the_login_layer() -> None:
    args = cli.build_parser().parse_args(["--demo", "--db", "sqlite:///x.db"])
    assert args.demo and args.db == "sqlite:///x.db" and args.command is None


def test_screenshot_in_process(qtbot, tmp_path: Path, capsys) -> None:
    shot = tmp_path / "w.png"
    assert cli.main(["--demo", "--screenshot", str(shot), "--quit-after", "0.5"]) == 0
    assert f"screenshot saved to {shot}" in capsys.readouterr().out
    from PySide6.QtGui import QImage

    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1600, 960)


def _run(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "console", *args], cwd=tmp_path, env=env, text=True,
                          capture_output=True, timeout=120)


def _env(**changes: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PROJECT)
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def test_screenshot_subprocess_writes_a_png_showing_demo(tmp_path: Path) -> None:
    result = _run(["--demo", "--screenshot", "w.png", "--quit-after", "1.5"],
                  _env(QT_QPA_PLATFORM="offscreen"), tmp_path)
    assert result.returncode == 0, result.stderr
    data = (tmp_path / "w.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    from PySide6.QtGui import QColor, QImage

    from console.app import load_theme

    image = QImage(str(tmp_path / "w.png"))
    demo = QColor(load_theme().demo).rgb()
    # the DEMO marker is in the status bar along the bottom edge
    bottom = [image.pixel(x, image.height() - 12) for x in range(0, image.width(), 2)]
    assert bottom.count(demo) > 50


@pytest.mark.parametrize("platform", [None, "xcb"])
def test_missing_display_prints_the_install_hint_and_exits_1(tmp_path: Path, platform: str | None) -> None:
    env = _env(QT_QPA_PLATFORM=platform, DISPLAY=None, WAYLAND_DISPLAY=None)
    result = _run(["--demo", "--quit-after", "1"], env, tmp_path)
    assert result.returncode == 1
    assert "libxcb-cursor0" in result.stderr and "xvfb-run" in result.stderr
    assert PLATFORM_HINT.splitlines()[0] in result.stderr


def test_version(capsys) -> None:
    from console import __version__

    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"chairside {__version__}"


def _real_record(path: Path) -> str:
    """A clinic's record: an admin and a real patient."""
    from console.record import open_database

    url = f"sqlite:///{path}"
    db = open_database(url)
    try:
        svc = db.service(db.system_user("setup"))
        svc.add_user("ada", "Ada Admin", "admin", "correct horse battery staple")
        ada = db.authenticate("ada", "correct horse battery staple")
        db.service(ada).add_user("carla", "Carla Clinician", "clinician", "another long passphrase")
        carla = db.authenticate("carla", "another long passphrase")
        db.service(carla).create_patient("PT-REAL", name="Real Patient")
    finally:
        db.close()
    return url


def test_demo_with_a_configured_clinic_record_never_touches_it(qtbot, tmp_path: Path, monkeypatch,
                                                              capsys) -> None:
    """A hurried user starts ``chairside --demo`` on the clinic computer (CHAIRSIDE_DB set): the simulator
    runs against the separate demo database; the real record gains no demo login, patient or session."""
    from console.record import open_database

    real = _real_record(tmp_path / "clinic.db")
    monkeypatch.setenv("CHAIRSIDE_DB", real)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert cli.main(["--demo", "--screenshot", str(tmp_path / "w.png"), "--quit-after", "0.5"]) == 0
    db = open_database(real)
    try:
        svc = db.service(db.system_user())
        assert sorted(u.username for u in svc.users()) == ["ada", "carla"]
        assert [p.code for p in svc.patients()] == ["PT-REAL"] and svc.sessions() == []
    finally:
        db.close()
    assert list((tmp_path / "xdg").rglob("*.db")) or list((tmp_path / "xdg").rglob("*.sqlite3"))


def test_demo_pointed_at_a_real_record_is_refused_and_says_why(qtbot, tmp_path: Path, monkeypatch,
                                                               capsys) -> None:
    real = _real_record(tmp_path / "clinic.db")
    monkeypatch.setattr("console.commands.gui._show_error", lambda title, message: None)
    assert cli.main(["--demo", "--db", real, "--quit-after", "0.5"]) == 1
    err = capsys.readouterr().err
    assert "cannot open the session record" in err and "real" in err
