"""The simulator behind the Driver interface: what the acquisition loop sees."""

from __future__ import annotations

import math

from devices import mdc, registry
from devices.driver import Driver
from devices.model import LinkEvent, LinkState, Numeric, WaveBlock
from devices.simulator import Simulator
from devices.simulator.driver import DRIVER, SimulatorDriver
from devices.simulator.scenarios import SILENT_SPAN
from devices.transport import PortSettings

START = 1_700_000_000.0


def links(samples):
    return [s.state for s in samples if isinstance(s, LinkEvent)]


def test_driver_is_registered_and_declares_itself():
    assert DRIVER is SimulatorDriver and issubclass(SimulatorDriver, Driver)
    info = registry.get("simulator")
    assert info.driver is SimulatorDriver and info.make_emulator is None
    assert SimulatorDriver.name == "simulator"
    assert SimulatorDriver.title == "Built-in simulator"
    assert SimulatorDriver.default_settings == PortSettings()
    assert SimulatorDriver.setup_help
    driver = registry.create_driver("simulator", source="chair 1")
    assert driver.source == "chair 1" and driver.simulator.scenario.name == "stable"


def test_feed_returns_the_simulators_samples_with_associated_first():
    sim = Simulator(seed=1, start=START, speed=10)
    driver = SimulatorDriver(simulator=sim)
    first = driver.feed(b"", START + 0.5)
    assert isinstance(first[0], LinkEvent) and first[0].state == LinkState.ASSOCIATED
    assert first[0].host_time == START + 0.5
    assert [n.device_time - START for n in first if isinstance(n, Numeric) and n.mdc == mdc.HEART_RATE] \
        == [1.0, 2.0, 3.0, 4.0, 5.0]
    second = driver.feed(b"ignored bytes", START + 1.0)
    assert links(second) == []
    assert any(isinstance(s, WaveBlock) for s in second)
    assert driver.outgoing(START + 1.0) == b"" and driver.close(START + 1.0) == b""


def test_disconnect_gives_lost_then_associated_even_within_one_feed():
    sim = Simulator("disconnect", seed=0, start=START, speed=600)
    driver = SimulatorDriver(simulator=sim)
    assert links(driver.feed(b"", START)) == [LinkState.ASSOCIATED]
    # one feed spanning the whole silent window (120..150 s simulated = 0.2..0.25 s host at 600x)
    samples = driver.feed(b"", START + 0.3)
    assert links(samples) == [LinkState.LOST, LinkState.ASSOCIATED]
    lost = next(i for i, s in enumerate(samples) if isinstance(s, LinkEvent))
    back = lost + 1
    assert isinstance(samples[back], LinkEvent)
    before = samples[:lost]
    after = samples[back + 1:]
    assert max(n.device_time for n in before if isinstance(n, Numeric)) - START < SILENT_SPAN[0]
    assert min(n.device_time for n in after if isinstance(n, Numeric)) - START == SILENT_SPAN[1]
    first_blocks = {}
    for b in after:
        if isinstance(b, WaveBlock):
            first_blocks.setdefault(b.mdc, b)
    assert len(first_blocks) == 4 and all(b.gap for b in first_blocks.values())
    assert all(s.host_time == START + 0.3 for s in samples if isinstance(s, LinkEvent))


def test_disconnect_across_feeds_reports_lost_while_silent():
    sim = Simulator("disconnect", seed=0, start=START, speed=60, waves=False)
    driver = SimulatorDriver(simulator=sim)
    driver.feed(b"", START + 1.0)  # 60 s
    assert links(driver.feed(b"", START + 2.1)) == [LinkState.LOST]  # 126 s
    assert driver.feed(b"", START + 2.4) == []  # 144 s: still silent
    assert links(driver.feed(b"", START + 2.6)) == [LinkState.ASSOCIATED]  # 156 s


def test_bad_clock_reading_is_reported_not_raised():
    driver = SimulatorDriver(simulator=Simulator(seed=0, start=START))
    driver.feed(b"", START + 1.0)
    assert driver.feed(b"", math.nan) == []
    assert "now" in driver.stats.last_error
    assert driver.feed(b"", START + 2.0)


def test_reset_announces_the_association_again():
    driver = SimulatorDriver(simulator=Simulator(seed=0, start=START, waves=False))
    driver.feed(b"", START + 1.0)
    driver.reset()
    assert links(driver.feed(b"", START + 2.0)) == [LinkState.ASSOCIATED]
