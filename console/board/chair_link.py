"""Joining a chair to the central board: what the console and the headless chair call.

A chair publishes only when its record is shared (PostgreSQL): the board is a screen at the nurses' station
reading every chair's row, and a SQLite file is one workstation's record, so there is nothing to share. The
publisher runs on its own thread (:class:`~console.board.publisher.StatusPublisher`); the console's session
controller lives on the GUI thread, so the station hands its phase over through a :class:`PhaseBox`, set from
its one-second timer and read by the publisher, instead of the publisher calling into Qt objects.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from console.board.feed import ChairFeed, record_session_info
from console.board.publisher import PUBLISH_INTERVAL_S, StatusPublisher
from console.board.status import Phase

log = logging.getLogger(__name__)

#: the session workflow's phases (``console.session.Phase`` values) as the board names them
BOARD_PHASES: dict[str, Phase] = {
    "no session": Phase.IDLE,
    "patient and protocol chosen": Phase.PRE_CHECK,
    "pre-check saved": Phase.PRE_CHECK,
    "baseline ratings done": Phase.PRE_CHECK,
    "dosing": Phase.INFUSING,
    "paused": Phase.PAUSED,
    "monitoring": Phase.MONITORING,
    "discharged": Phase.READY_FOR_DISCHARGE,
    "signed": Phase.SIGNED,
}


@dataclass(frozen=True, slots=True)
class BoardPhase:
    """What the workflow tells the board (satisfies :class:`console.board.feed.PhaseInfo`)."""

    phase: Phase
    detail: str = ""
    next_check: str | None = None
    overdue: tuple[str, ...] = ()


class PhaseBox:
    """The latest :class:`BoardPhase`, set on one thread and read on another (one reference swap each)."""

    def __init__(self) -> None:
        self._info: BoardPhase | None = None

    def set(self, info: BoardPhase | None) -> None:
        self._info = info

    def __call__(self) -> BoardPhase | None:
        return self._info


def board_phase(controller: Any, now: float) -> BoardPhase | None:
    """The board's view of a :class:`console.session.SessionController` at ``now``; ``None`` without a
    session (the feed then says idle, or "monitoring" while the runtime records)."""
    if getattr(controller, "session", None) is None:
        return None
    phase = BOARD_PHASES.get(str(controller.phase), Phase.MONITORING)
    status = controller.schedule(now)
    next_check = None
    overdue: tuple[str, ...] = ()
    if status is not None:
        overdue = tuple(c.label for c in status.overdue)
        nxt = status.next_due
        if nxt is not None:
            left = nxt.seconds_left(now)
            next_check = nxt.label if left is None else f"{nxt.label} in {max(0, round(left / 60))} min"
    started = getattr(controller.session, "started_at", None)
    detail = ""
    if started is not None and hasattr(started, "timestamp"):
        detail = f"minute {max(0, int((now - started.timestamp()) // 60))}"
    return BoardPhase(phase, detail, next_check, overdue)


def start_chair_publisher(db: Any, runtime: Any, *, phase: PhaseBox | None = None,
                          interval_s: float = PUBLISH_INTERVAL_S) -> StatusPublisher | None:
    """Publish this chair's status to the board about once a second while the record is shared
    (PostgreSQL); ``None`` (nothing started) on a single-workstation SQLite record. Close the returned
    publisher before the runtime shuts down."""
    engine = getattr(db, "write_engine", db.engine)
    if engine.dialect.name != "postgresql":
        return None
    feed = ChairFeed(runtime, record_session_info(db), phase=phase)
    log.info("chair %s publishes its status to the board", runtime.chair)
    return StatusPublisher(engine, feed, interval_s=interval_s).start()


__all__ = ["BOARD_PHASES", "BoardPhase", "PhaseBox", "board_phase", "start_chair_publisher"]
