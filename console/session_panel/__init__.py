"""The clinician's session panel (Qt): start a session, pre-checks, dosing, observations, discharge, sign-off."""

from console.session_panel.panel import QUICK_ACTIONS, SessionPanel

__all__ = ["QUICK_ACTIONS", "SessionPanel"]
