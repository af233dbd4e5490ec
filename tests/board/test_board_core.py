"""The board's data path without Qt: publish, read back, offline by heartbeat age, notifications, publisher."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from console.board import OFFLINE_AFTER_S, AlarmStatus, ChairStatus, NumericStatus, Phase
from console.board.board import board_json, board_snapshot
from console.board.listener import BoardListener
from console.board.publisher import StatusPublisher
from console.board.status import StatusError
from console.board.store import database_now, forget_chair, publish, read_all
from console.record.engine import make_engine
from devices import mdc


def status(chair: str = "3", **kw: object) -> ChairStatus:
    base: dict[str, object] = {
        "chair": chair, "phase": Phase.INFUSING, "phase_detail": "minute 12 of 40", "patient": "PT-0042",
        "protocol": "iv-ketamine-0.5", "session_id": 7,
        "numerics": {mdc.HEART_RATE: NumericStatus(84.0, "/min", 0.4),
                     mdc.NIBP_SYS: NumericStatus(183.0, "mmHg", 40.0)},
        "alarms": (AlarmStatus("high", mdc.NIBP_SYS, "NBP sys 183 ≥ 180 mmHg"),),
        "next_check": "MOAA/S at 15 min", "devices": {"monitor": "connected"}, "published_at": 1000.0}
    base.update(kw)
    return ChairStatus(**base)  # type: ignore[arg-type]


@pytest.fixture
def engine(board_url: str) -> Iterator[Engine]:
    eng = make_engine(board_url)
    yield eng
    eng.dispose()


def test_status_round_trips_through_json_exactly() -> None:
    s = status()
    assert ChairStatus.from_json(s.to_json()) == s
    assert s.worst_priority == "high"


@pytest.mark.parametrize("bad", [
    '{"chair": "", "phase": "idle"}', '{"chair": "1", "phase": "asleep"}', "not json",
    '{"chair": "1", "phase": "idle", "alarms": [{"priority": "urgent", "mdc": 0, "text": "x"}]}',
    '{"chair": "1", "phase": "idle", "numerics": {"147842": {"value": "NaN", "unit": "/min", "age_s": 0}}}',
])
def test_a_damaged_status_is_a_named_error_not_a_crash(bad: str) -> None:
    with pytest.raises(StatusError):
        ChairStatus.from_json(bad)


def test_publish_overwrites_the_chairs_row_and_counts_publications(engine: Engine) -> None:
    publish(engine, status(phase_detail="minute 12 of 40"))
    publish(engine, status(phase_detail="minute 13 of 40"))
    publish(engine, status(chair="4", phase=Phase.PRE_CHECK, alarms=()))
    now, rows = read_all(engine)
    assert [(r.chair, r.seq) for r in rows] == [("3", 2), ("4", 1)]
    assert rows[0].status is not None and rows[0].status.phase_detail == "minute 13 of 40"
    assert abs(now - time.time()) < 5 and abs(rows[0].updated_at - now) < 5  # the database's clock
    assert forget_chair(engine, "4") and [r.chair for r in read_all(engine)[1]] == ["3"]


def test_a_silent_chair_goes_offline_by_heartbeat_age_with_a_technical_alarm(engine: Engine) -> None:
    publish(engine, status())
    publish(engine, status(chair="5", phase=Phase.IDLE, alarms=(), numerics={}))
    now, rows = read_all(engine)
    live = board_snapshot(now, rows)
    assert [c.online for c in live] == [True, True]
    later = board_snapshot(now + OFFLINE_AFTER_S + 1, rows)
    busy, idle = later
    assert not busy.online and busy.alarms[0].technical and busy.alarms[0].priority == "medium"
    assert "Chair 3 offline" in busy.alarms[0].text
    # the chair's own alarms are stale once it is offline: only the board's alarm is shown
    assert all(a.technical for a in busy.alarms)
    assert idle.alarms[0].priority == "low"  # an idle chair switched off at night is not urgent


def test_board_json_has_the_documented_shape(engine: Engine) -> None:
    publish(engine, status())
    now, rows = read_all(engine)
    board = board_json(now + 2.0, rows)
    [chair] = board["chairs"]
    assert chair["chair"] == "3" and chair["online"] is True and 2.0 <= chair["age_s"] < 4.0
    assert chair["phase"] == "infusing" and chair["patient"] == "PT-0042"
    hr = chair["numerics"][str(mdc.HEART_RATE)]
    assert hr["value"] == 84.0 and hr["unit"] == "/min" and 2.4 <= hr["age_s"] < 4.5  # aged by the board
    assert chair["alarms"] == [{"priority": "high", "mdc": mdc.NIBP_SYS, "text": "NBP sys 183 ≥ 180 mmHg",
                                "technical": False}]
    assert chair["next_check"] == "MOAA/S at 15 min"


def test_a_damaged_row_is_shown_as_a_technical_alarm(engine: Engine) -> None:
    publish(engine, status())
    with engine.begin() as conn:
        conn.execute(text("UPDATE chair_status SET status_json = '{\"chair\": 3' WHERE chair = '3'"))
    now, rows = read_all(engine)
    [chair] = board_snapshot(now, rows)
    assert chair.status is None and not chair.online
    assert chair.alarms[0].technical and "unreadable chair status" in chair.alarms[0].text


def test_publisher_keeps_publishing_the_newest_state(engine: Engine) -> None:
    counter = iter(range(1_000_000))
    pub = StatusPublisher(engine, lambda: status(phase_detail=f"tick {next(counter)}"), interval_s=0.05).start()
    try:
        deadline = time.monotonic() + 10
        while pub.published < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        pub.close()
    assert pub.published >= 5 and pub.healthy
    _, [row] = read_all(engine)
    assert row.seq == pub.published and row.status is not None and row.status.phase_detail.startswith("tick")


def test_publisher_survives_a_dead_database_and_never_queues(engine: Engine) -> None:
    calls: list[float] = []
    broken = threading.Event()
    broken.set()

    def write(eng: Engine, s: ChairStatus) -> None:
        calls.append(time.monotonic())
        if broken.is_set():
            raise OSError("server closed the connection unexpectedly")
        publish(eng, s)

    pub = StatusPublisher(engine, status, interval_s=0.05, write=write).start()
    try:
        deadline = time.monotonic() + 10
        while len(calls) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not pub.healthy and "closed the connection" in (pub.last_error or "")
        assert pub.dropped >= 3 and pub.published == 0
        broken.clear()  # storage is back: the newest state goes out, nothing old is replayed
        while pub.published < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        pub.close()
    assert pub.healthy and read_all(engine)[1][0].seq == pub.published


@pytest.mark.postgres
def test_postgres_notifies_the_board_when_a_chair_publishes(pg_board_url: str) -> None:
    engine = make_engine(pg_board_url)
    listener = BoardListener(pg_board_url).start()
    try:
        deadline = time.monotonic() + 10
        while not listener.connected and time.monotonic() < deadline:
            time.sleep(0.02)
        listener.wait_for_change(0.1)  # the "(re)connected" wake-up
        publish(engine, status(chair="7"))
        assert listener.wait_for_change(5.0) == {"7"}
        assert database_now(engine) > 0
    finally:
        listener.close()
        engine.dispose()


def test_a_chair_is_named_once_on_the_board() -> None:
    from console.board.board import chair_title

    assert [chair_title(n) for n in ("3", "Chair 3", "chair 12", "Room 4 recliner", " 7 ")] == [
        "Chair 3", "Chair 3", "chair 12", "Room 4 recliner", "Chair 7"]
