"""The central board: every chair's live state, published to the shared record and read by one screen.

No Qt here. A chair publishes a :class:`ChairStatus` about once a second (:class:`StatusPublisher`, its own
thread, never slowing the chair); the board reads every chair's latest status (:mod:`console.board.store`),
wakes on PostgreSQL ``NOTIFY`` (:class:`BoardListener`) and decides from each heartbeat's age, not from the
absence of a notification, whether a chair is offline (:func:`board_snapshot`).

Live status is not part of the clinical record: it is overwritten each second and never chained or signed.
Entries, alarms and vitals reach the record through the chair's own outbox and recorder as before.
"""

from console.board.board import OFFLINE_AFTER_S, BoardChair, board_snapshot
from console.board.status import AlarmStatus, ChairStatus, NumericStatus, Phase

__all__ = [
    "OFFLINE_AFTER_S",
    "AlarmStatus",
    "BoardChair",
    "ChairStatus",
    "NumericStatus",
    "Phase",
    "board_snapshot",
]
