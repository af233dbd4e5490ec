"""The serial port vanishes (pty closed, socket server gone) and comes back, with the alarm engine watching.

Each protocol's emulator is served on a real link (the rig of ``tests/devices/test_e2e_links.py``) and read by
:class:`~devices.acquisition.DeviceLink` in a thread; every batch also goes to an
:class:`~console.alarms.AlarmEngine`, as in the station. While the port is away the engine must show the
technical "disconnected" alarm; after the port returns the link must reconnect within 5 s, the first wave
block of each channel must carry ``gap=True`` (the hole is marked, never padded), and the alarm must end.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from console.alarms import AlarmEngine, Category
from console.station import default_alarm_limits
from devices.model import LinkEvent, LinkState, WaveBlock
from tests.devices.test_e2e_links import PROTOCOLS, TRANSPORTS, Rig, has_spo2, states

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.timeout(60)]

#: the most the link may take to reconnect after the port is back
RECONNECT_WITHIN = 5.0
AWAY_FOR = 1.0


class Watched:
    """Feeds the rig's samples to an alarm engine in order, ticking it with the wall clock."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.engine = AlarmEngine(default_alarm_limits())
        self._fed = 0

    def tick(self) -> None:
        new = self.rig.since(self._fed)
        self._fed += len(new)
        self.engine.feed_many(new)
        self.engine.tick(time.time())

    def link_alarms(self) -> list:
        return [a for a in self.engine.history() if a.key == f"link|{self.rig.link.name}"]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_port_loss_raises_and_clears_the_alarm_and_marks_the_gap(protocol: str, transport: str,
                                                                 tmp_path: Path) -> None:
    with Rig(protocol, transport, tmp_path) as rig:
        watch = Watched(rig)
        assert rig.wait_for(has_spo2(2)), f"no data before the fault: {states(rig.samples)}"
        watch.tick()
        assert watch.link_alarms() == []
        rig.server.vanish()
        gone = rig.mark()
        assert rig.wait_for(lambda s: LinkState.LOST in states(s[gone:]))
        watch.tick()
        [alarm] = watch.link_alarms()
        assert alarm.active and alarm.category is Category.TECHNICAL
        assert "disconnected" in alarm.message and str(rig.server.url) in alarm.message
        time.sleep(AWAY_FOR)  # the link keeps retrying meanwhile
        watch.tick()
        assert alarm.active  # still away: the alarm stays
        restoring = time.time()
        rig.server.restore()
        returned = time.time()
        back = rig.mark()
        assert rig.wait_for(has_spo2(2, back)), f"no data after the port returned: {states(rig.since(back))}"
        if any(isinstance(s, WaveBlock) for s in rig.samples[:gone]):
            assert rig.wait_for(lambda s: any(isinstance(w, WaveBlock) for w in s[back:]))
        watch.tick()
    after = rig.since(back)
    connected = [e for e in after if isinstance(e, LinkEvent) and e.state is LinkState.CONNECTED]
    assert connected, f"no reconnection: {states(after)}"
    assert connected[0].host_time - returned < RECONNECT_WITHIN
    assert not alarm.active and alarm.ended is not None and alarm.ended >= restoring  # ended by the return
    assert [a.id for a in watch.link_alarms()] == [alarm.id]  # one outage, one alarm
    first_blocks: dict[int, WaveBlock] = {}
    for s in after:
        if isinstance(s, WaveBlock):
            first_blocks.setdefault(s.mdc, s)
    if any(isinstance(s, WaveBlock) for s in rig.samples[:gone]):
        assert first_blocks and all(b.gap for b in first_blocks.values()), \
            {code: b.gap for code, b in first_blocks.items()}
