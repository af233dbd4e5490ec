"""The sign-off page's former home: it is a page of the session panel, :mod:`console.session_panel.signoff`."""

from console.session_panel.signoff import MEANINGS, PENDING, SignoffDialog, SignoffPage

__all__ = ["MEANINGS", "PENDING", "SignoffDialog", "SignoffPage"]
