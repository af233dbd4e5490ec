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
"""

from console.session_panel.panel import QUICK_ACTIONS, SessionPanel

__all__ = ["QUICK_ACTIONS", "SessionPanel"]
