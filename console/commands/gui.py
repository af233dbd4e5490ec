"""``chairside`` with no subcommand: the live console window.

By default the window shows the built-in simulator (marked DEMO everywhere); ``--device PROTOCOL:URL`` shows a
real monitor instead. ``--screenshot PATH --quit-after SECONDS`` saves a PNG of the window and exits, for
documentation and smoke tests. ``--demo`` additionally selects the demo user and an embedded database (wired by
the login/storage layer; ``--db`` is kept in ``args`` for it).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

from console.commands.window_args import add_window_args, window_args_problem

#: simulated history before the window opens, so a demo starts with a full sweep and a first NIBP result
#: (the simulator's first automatic NIBP starts at 30 s and takes 30 s)
DEMO_PREROLL_SECONDS = 65.0
#: window size used for screenshots, so documentation images are reproducible
SCREENSHOT_SIZE = (1600, 960)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The console's options, added to the top-level ``chairside`` parser."""
    group = parser.add_argument_group("console window")
    group.add_argument("--demo", action="store_true",
                       help="demo mode: simulated patient, demo user, embedded database; everything marked DEMO")
    group.add_argument("--db", metavar="URL", default=None,
                       help="database URL (SQLAlchemy form, e.g. sqlite:///chairside.db or postgresql://...)")
    group.add_argument("--scenario", metavar="NAME", default="stable",
                       help="simulator scenario (stable, hypertensive, desaturation, artifact, disconnect, noise)")
    group.add_argument("--speed", metavar="X", type=float, default=1.0,
                       help="simulated seconds per real second, 1 to 600 (default 1)")
    group.add_argument("--seed", metavar="N", type=int, default=0, help="simulator random seed (default 0)")
    group.add_argument("--device", metavar="PROTOCOL:URL", default=None,
                       help="a real monitor instead of the simulator, e.g. intellivue:/dev/ttyUSB0 or "
                            "datex:socket://10.0.0.5:4001")
    group.add_argument("--chair", metavar="NAME", default="1",
                       help="the chair this console serves; its device profiles (set up by a technician) are "
                            "used instead of the simulator (default 1)")
    add_window_args(group)


def _validate(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    from devices import registry
    from devices.simulator import MAX_SPEED, MIN_SPEED, SCENARIOS

    if args.scenario not in SCENARIOS:
        parser.error(f"unknown scenario {args.scenario!r}; choose one of: {', '.join(SCENARIOS)}")
    if not MIN_SPEED <= args.speed <= MAX_SPEED:
        parser.error(f"--speed must be from {MIN_SPEED:g} to {MAX_SPEED:g}, not {args.speed:g}")
    if args.seed < 0:
        parser.error(f"--seed must not be negative, not {args.seed}")
    problem = window_args_problem(args)
    if problem:
        parser.error(problem)
    if args.device is not None:
        protocol, sep, url = args.device.partition(":")
        if not sep or not protocol or (not url and protocol != "simulator"):
            parser.error(f"--device takes PROTOCOL:URL, e.g. intellivue:/dev/ttyUSB0, not {args.device!r}")
        if protocol not in registry.available():
            parser.error(f"--device: unknown protocol {protocol!r}; known: {', '.join(registry.available())}")
        if args.demo and protocol != "simulator":
            parser.error("--demo shows the simulator; leave out --device (or use --device simulator:)")


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Open the console window and run until it is closed (or ``--quit-after``). Returns the exit code."""
    _validate(args, parser)
    from console.app import QuitAfter, create_application

    app = create_application([sys.argv[0]])
    from PySide6.QtCore import QEventLoop

    db = _open_record(args)
    if db is None:
        return 1
    user = db.demo_login() if args.demo else _login(db)
    if user is None:
        db.close()
        return 0  # the log-in was cancelled: nothing was opened, nothing to save
    profiles = [] if (args.demo or args.device) else _chair_profiles(db, user, args.chair)
    from console.runtime import ChairRuntime

    # the chair's runtime (devices, alarms, recording, the storage writer) runs whoever is logged in; the
    # window and the station are views on it
    runtime = ChairRuntime(db, chair=args.chair)
    window, simulator = build_window(args, profiles, runtime=runtime)
    station = _attach_station(window, db, user, simulator, args)
    alarm_display = station.alarms if station is not None else _alarm_display(window, user)
    from console.board.chair_link import start_chair_publisher

    board = start_chair_publisher(db, runtime, phase=station.board_phase if station is not None else None)
    _add_menus(window, db, user, station)
    if user.role == "auditor" and args.screenshot is None:
        window.open_review()  # auditors come to review; the live monitor stays behind it, read-only
    if args.screenshot is not None:
        from console.main_window import fitted_size

        window.resize(fitted_size(window, *SCREENSHOT_SIZE))  # the screen's size when smaller (1366x768)
        window.show()
    else:
        window.showMaximized()
    # A local event loop rather than app.exec(): once QApplication.exec() has returned, Qt treats the
    # application as closing and stops delivering queued cross-thread signals, which would break anything run
    # in the same process afterwards (tests run the console in-process). The loop ends when the last window
    # closes, at --quit-after, or on Ctrl+C.
    loop = QEventLoop()
    app.lastWindowClosed.connect(loop.quit)

    def cannot_write(message: str) -> int:
        print(f"chairside: {message}", file=sys.stderr)
        return 1

    quit_after = (QuitAfter(window, loop, args.quit_after, args.screenshot, refresh=window.refresh,
                            cannot_write=cannot_write)
                  if args.quit_after is not None else None)

    # Ctrl+C in the terminal closes the window cleanly instead of an exception inside a Qt slot
    previous_sigint = signal.signal(signal.SIGINT, lambda *_: loop.quit())
    window.start()
    try:
        loop.exec()
    finally:
        signal.signal(signal.SIGINT, previous_sigint)
    app.lastWindowClosed.disconnect(loop.quit)
    for tool in getattr(window, "tool_windows", []):
        for child in getattr(tool, "_children", []):
            child.close()  # review windows opened from a browser
        tool.close()  # their test/auto-detect threads and recordings stop with them
    if board is not None:
        board.close()  # the board sees the chair go offline by its heartbeat's age
    if station is not None:
        station.shutdown()
    alarm_display.shutdown()
    window.shutdown()
    if not runtime.shutdown():  # writes what is pending, closes the recorder, joins every thread
        print("chairside: a chair thread did not stop in time", file=sys.stderr)
    window.close()
    window.deleteLater()
    db.close()
    return quit_after.code if quit_after is not None else 0


def _chair_profiles(db, user, chair: str) -> list:
    """The device profiles a technician assigned to this chair (read with the logged-in user's rights)."""
    try:
        return [p for p in db.service(user).device_profiles() if p.chair == chair]
    except Exception as exc:  # a profile problem must not keep the console from starting: fall back, say so
        print(f"chairside: device profiles not read ({exc}); showing the simulator", file=sys.stderr)
        return []


def _add_menus(window, db, user, station) -> None:
    """The Tools menu: device setup for everyone (read-only unless technician/admin), and the session review."""
    menu = window.menuBar().addMenu("&Tools")
    service = station.service if station is not None else db.service(user)
    open_windows: list = []  # keep references: the tool windows are not modal

    def device_setup() -> None:
        from console.technician import open_device_setup

        open_windows.append(open_device_setup(window, service, window.threads))

    def review() -> None:
        from console.review import open_review

        browser = open_review(db, user)
        open_windows.extend([browser, *getattr(browser, "_children", [])])

    action = menu.addAction("Device setup…")
    action.triggered.connect(device_setup)
    action = menu.addAction("Review sessions…")
    action.setShortcut("Ctrl+R")
    action.triggered.connect(review)
    window.tool_windows = open_windows
    window.open_review = review


def _open_record(args: argparse.Namespace):
    """Open the session record (``--db``, ``$CHAIRSIDE_DB`` or the embedded SQLite file); explain failures.

    ``--demo`` never opens a real record: without ``--db`` it uses the separate demo database, and a ``--db``
    holding real patients is refused (the record's demo policy, :mod:`console.record.demo`)."""
    from console.record import open_database
    from console.record.demo import resolve_demo_database
    from console.record.errors import RecordError

    try:
        return open_database(resolve_demo_database(args.db) if args.demo else args.db)
    except RecordError as exc:
        message = f"chairside: cannot open the session record: {exc}"
        print(message, file=sys.stderr)
        _show_error("Session record unavailable", message)
        return None


def _show_error(title: str, message: str) -> None:
    from console.message_boxes import error_box

    error_box(title, message).exec()


def _login(db):
    """Ask for user name and password; ``None`` when the user cancels."""
    from console.login_dialog import LoginDialog

    if not db.service(db.system_user()).users():
        message = ("This record has no users yet. Create the first one, an administrator, in a terminal, e.g.\n"
                   "  chairside users add NAME --role admin --name \"Full Name\"\n"
                   "then the clinicians (chairside users add NAME --role clinician --user ADMIN).\n"
                   "(or start with --demo to look around with the simulator).")
        print(f"chairside: {message}", file=sys.stderr)
        _show_error("No users yet", message)
        return None
    dialog = LoginDialog(db.authenticate)
    return dialog.user if dialog.exec() else None


def _alarm_display(window, user):
    """The chair's alarms for a user without the session panel (technician, auditor, admin): they run and
    sound for every role, and an acknowledgement records this user's name."""
    from console.station import AlarmDisplay

    return AlarmDisplay(window, lambda: user.full_name or user.username)


def _attach_station(window, db, user, simulator, args: argparse.Namespace):
    """Join the window to the record for a clinician; other roles see the monitor without the session panel."""
    if user.role != "clinician":
        window.status.set_user(f"Signed in as {user.full_name or user.username} ({user.role})")
        window.status.showMessage("The session panel is for clinicians.")
        return None
    from console.station import ChairStation

    take_bp = simulator.measure_nibp_now if simulator is not None else None
    station = ChairStation(window, db, user, chair=args.chair, take_bp=take_bp,
                           devices=lambda: [t.source for t in window.threads])
    if not args.demo and args.screenshot is None:
        _offer_interrupted_sessions(station)
    return station


def _offer_interrupted_sessions(station) -> None:
    """After a crash: offer to resume or close each session that was left open (nothing is decided silently)."""
    from console.message_boxes import close_reason_dialog, interrupted_session_box

    for info in station.service.interrupted_sessions():
        box, resume, close = interrupted_session_box(info.id)
        box.exec()
        if box.clickedButton() is resume:
            session = station.service.resume_session(info.id)
            station.panel.open_session(session, station.service.patient(session.patient_id))
            station._on_session_started(session)
            return
        if box.clickedButton() is close:
            ask = close_reason_dialog()
            ok, reason = bool(ask.exec()), ask.textValue()
            if ok and reason.strip():
                station.service.close_interrupted(info.id, reason.strip())


def build_window(args: argparse.Namespace, profiles: list | None = None, runtime=None):
    """The main window with its device: the simulator (demo-marked) or the ``--device`` monitor.

    ``runtime``: the chair runtime the window shows (the devices are added to it); without one the window makes
    its own, without a record.

    Returns ``(window, simulator)``; ``simulator`` is the running :class:`~devices.simulator.Simulator` (for
    demo controls such as starting an infusion or an NIBP measurement) or ``None`` with a real device. The
    simulator is driven from the acquisition thread: call its methods from there or keep calls cheap and rare.
    """
    from devices import registry

    from console.main_window import MainWindow

    if profiles:
        from console.technician.profiles import NO_PORT, needs_port, settings_of

        window = MainWindow(demo=False, runtime=runtime)
        for profile in profiles:
            driver = registry.create_driver(profile.protocol, source=profile.name)
            url = profile.port if needs_port(profile.protocol) and profile.port != NO_PORT else None
            window.add_device(driver, url, settings_of(profile.settings, profile.protocol), name=profile.name)
        return window, None
    protocol, _, url = (args.device or "simulator:").partition(":")
    if protocol == "simulator":
        from devices.simulator import Simulator
        from devices.simulator.driver import SimulatorDriver

        simulator = Simulator(scenario=args.scenario, seed=args.seed, speed=args.speed, waves=True,
                              start=time.time() - DEMO_PREROLL_SECONDS / args.speed, mark_demo=True,
                              auto_infusion=args.demo, source="Simulator")
        window = MainWindow(demo=True, runtime=runtime)
        window.add_device(SimulatorDriver(source="Simulator", simulator=simulator), None, name="Simulator")
        return window, simulator
    window = MainWindow(demo=False, runtime=runtime)
    driver = registry.create_driver(protocol, source=url)
    window.add_device(driver, url, name=f"{protocol} on {url}")
    return window, None
