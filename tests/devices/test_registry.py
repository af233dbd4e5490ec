"""Meta-test over every registered protocol: it constructs, documents itself, survives garbage, and its
emulator's output decodes with its own driver (sans-I/O: no threads, no ports)."""

from __future__ import annotations

import random

import pytest

from devices import registry
from devices.driver import Driver, Emulator
from devices.model import Numeric, Sample, WaveBlock
from devices.transport import PortSettings


def protocol(name: str) -> registry.ProtocolInfo:
    try:
        return registry.get(name)
    except ImportError as exc:  # a protocol package another part of the build has not delivered
        pytest.skip(f"protocol {name!r} not importable: {exc}")


ALL = registry.available()
EMULATED = [p for p in ALL if p != "simulator"]


def test_unknown_protocol_names_the_known_ones() -> None:
    with pytest.raises(registry.UnknownProtocol) as info:
        registry.get("nonin9")
    assert "masimo" in str(info.value) and "intellivue" in str(info.value)


@pytest.mark.parametrize("name", ALL)
def test_driver_declares_what_technicians_and_the_registry_need(name: str) -> None:
    info = protocol(name)
    assert issubclass(info.driver, Driver)
    driver = info.driver(source="chair 1")
    assert driver.name == name and driver.source == "chair 1"
    assert driver.title.strip() and driver.setup_help.strip()
    assert isinstance(driver.default_settings, PortSettings)
    assert all(isinstance(s, PortSettings) for s in driver.alternative_settings)
    assert driver.silence_timeout > 0


@pytest.mark.parametrize("name", ALL)
def test_driver_survives_empty_and_garbage_bytes(name: str) -> None:
    driver = protocol(name).driver()
    rng = random.Random(1234)
    assert isinstance(driver.feed(b"", 1000.0), list)
    for i in range(200):
        chunk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        assert isinstance(driver.feed(chunk, 1000.0 + i * 0.05), list)
        assert isinstance(driver.outgoing(1000.0 + i * 0.05), bytes)
    driver.reset()
    assert isinstance(driver.close(1100.0), bytes)
    if name != "simulator":
        assert driver.stats.bytes_in > 0


@pytest.mark.parametrize("name", EMULATED)
def test_every_device_protocol_has_an_emulator(name: str) -> None:
    info = protocol(name)
    assert info.make_emulator is not None, f"{name} has no emulator"


def exchange(driver: Driver, emulator: Emulator, seconds: float, t0: float = 1_700_000_000.0,
             step: float = 0.02) -> list[Sample]:
    """Host and device talking to each other directly, as they would over a perfect cable."""
    samples: list[Sample] = []
    for i in range(int(seconds / step)):
        now = t0 + i * step
        host = driver.outgoing(now)
        if host:
            emulator.receive(host, now)
        samples += driver.feed(emulator.outgoing(now), now)
    return samples


@pytest.mark.parametrize("name", EMULATED)
def test_emulator_output_decodes_with_the_driver(name: str) -> None:
    from devices.simulator import Simulator

    info = protocol(name)
    assert info.make_emulator is not None
    emulator = info.make_emulator(Simulator("stable", seed=0, speed=1.0))
    driver = info.driver(source=name)
    samples = exchange(driver, emulator, seconds=6.0)
    numerics = [s for s in samples if isinstance(s, Numeric)]
    assert numerics, f"{name}: no numerics in 6 s (stats {driver.stats})"
    assert driver.stats.frames_ok > 0 and driver.stats.frames_bad == 0
    spo2 = [n.value for n in numerics if n.label.upper() == "SPO2" or n.mdc == 150456]
    assert spo2 and all(v is None or 80 <= v <= 100 for v in spo2)
    assert any(n.valid for n in numerics)
    assert all(not isinstance(s, WaveBlock) or len(s) > 0 for s in samples)
