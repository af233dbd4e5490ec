"""The phases of one session at the chair and the plain refusal an intent can meet."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Phase(StrEnum):
    """Where the session stands; derived from the stored entries, so a resumed session lands in the same place.

    no session -> chosen (patient and protocol) -> pre-check saved -> baseline ratings done -> dosing (paused)
    -> monitoring (infusion stopped, injection or last device given) -> discharged -> signed -> no session.
    """

    NO_SESSION = "no session"
    CHOSEN = "patient and protocol chosen"
    PRECHECKED = "pre-check saved"
    READY = "baseline ratings done"
    DOSING = "dosing"
    PAUSED = "paused"
    MONITORING = "monitoring"
    DISCHARGED = "discharged"
    SIGNED = "signed"


class Refused(Exception):
    """An intent that is not allowed now (or a write the record refused). ``reason`` is one plain sentence for
    the clinician; nothing was stored."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Hold:
    """Something in the saved pre-check that holds dosing.

    ``blocking`` holds (identity, consent) cannot be overridden: a new pre-check must confirm them. The others
    (fasting, escort, BP above the hold limit) allow dosing once a reason is recorded (``resolved``).
    """

    key: str
    message: str
    blocking: bool
    resolved: bool = False


#: how a patient may leave without a regular discharge: key -> words stored in the discharge entry
DEPARTURES: dict[str, str] = {
    "left_against_advice": "Left against medical advice",
    "transferred": "Transferred",
}
