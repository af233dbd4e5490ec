"""One session's workflow at the chair, without Qt: :class:`SessionController` owns the state and the rules
(pre-check before dosing, baseline ratings, confirmed start and stop, discharge before sign-off, next patient);
the session panel only shows it and forwards clicks."""

from console.session.background import BUSY_RETRY_S, Inline, Lanes
from console.session.controller import Intent, Outcome, SessionController
from console.session.dose import StopSummary, infusion_given
from console.session.state import DEPARTURES, Hold, Phase, Refused

__all__ = ["BUSY_RETRY_S", "DEPARTURES", "Hold", "Inline", "Intent", "Lanes", "Outcome", "Phase", "Refused",
           "SessionController", "StopSummary", "infusion_given"]
