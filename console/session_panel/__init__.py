"""The clinician's session panel (Qt): start a session, pre-checks, dosing, observations, discharge, sign-off.

Wiring it into the main window::

    from console.session_panel import SessionPanel

    panel = SessionPanel(
        svc,                                   # console.record SessionService of the logged-in user
        latest_vitals=window.latest_vitals,    # {mdc: (value, state, time)}, read on the panel's 1 Hz tick
        take_bp=start_nibp,                    # callable starting a cuff measurement, or None
        protocols=ProtocolLibrary.for_site(site_file),   # optional; built-in templates by default
        scales=ScaleLibrary.for_site(site_scales_dir),   # optional; adds a licensed CADSS file
        chair="2", devices=lambda: [...], demo=args.demo,
        rems_context={"provider": {...}, "setting": {...}},
        outbox=..., lanes=...,                 # the chair's (console.station.ChairStation passes both)
    )
    window.set_session_panel(panel)
    panel.session_started.connect(...)       # e.g. start the vitals recorder and the alarm engine
    panel.open_session(info, patient)        # to show a resumed (interrupted) session

F2-F6 are window shortcuts (MOAA/S, CADSS-6, side effect, note, take BP now). In an entry form Enter saves
(Ctrl+Enter in a multi-line field) and Escape leaves, asking first in the confirm strip when something typed would
be lost; Discard asks the same way. The pre-check is a stepped page of its own (``panel.open_precheck()``), each
step fitting a 1366x768 screen; every control is at least 44x44 px and check boxes and answers are whole-row tap
targets (:class:`widgets.tap_row.TapRow`).

The session's state and rules live in ``panel.ctl`` (:class:`console.session.SessionController`, no Qt); the
panel shows it, forwards clicks and shows its refusals. Start, stop and each nasal device are confirmed in the
panel's confirm strip; sign-off is a page of the panel, followed by a Next patient button.

Starting the session, saving a correction and signing run off the GUI thread on ``lanes``
(``console.session.Lanes``: the chair's writer thread, and a worker for the signature's password KDF); the
panel shows "Starting the session…", "Saving the correction…" or "Signing…" (and "the record is busy: still
trying" while the record is locked) with the buttons that would repeat or contradict it disabled, and picks up
the outcome on a 50 ms timer that runs only meanwhile. Without ``lanes`` they run at once on the caller's thread.
"""

from console.session_panel.panel import QUICK_ACTIONS, SessionPanel

__all__ = ["QUICK_ACTIONS", "SessionPanel"]
