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


@pytest.mark.parametrize("name", ALL)
def test_every_driver_brings_its_own_troubleshooting_advice(name: str) -> None:
    """A technician's advice lives with the driver: every case has words, with this protocol's settings."""
    from devices.driver import GENERIC_TROUBLESHOOTING, Troubleshooting

    info = protocol(name)
    words = info.driver.troubleshooting
    assert isinstance(words, Troubleshooting)
    assert words is not GENERIC_TROUBLESHOOTING, f"{name} gives no advice of its own"
    assert 0 < words.first_data_wait_s <= 30
    for text in (words.no_answer, words.no_answer_fix, words.undecodable_fix):
        assert text.strip()
    assert words.undecodable.strip() and words.undecodable.rstrip().endswith((".", ")"))
    assert bool(words.refused) == bool(words.refused_fix), "a refusal needs both the problem and the fix"
    filled = [t.format(settings=PortSettings(), requests="") for t in (
        words.no_answer, words.no_answer_fix, words.undecodable, words.undecodable_fix, words.refused,
        words.refused_fix, words.silent_hint)]
    assert not any("{" in t for t in filled), "only {settings} and {requests} may be filled in"


def test_the_technician_advice_comes_from_the_driver_registry() -> None:
    """A protocol's words reach the technician screen through the registry, not a list in the console."""
    from dataclasses import replace

    from console.technician.advice import advise, first_data_wait
    from console.technician.model import LinkSnapshot
    from devices.model import LinkState

    for name in EMULATED:
        words = protocol(name).driver.troubleshooting
        settings = protocol(name).driver.default_settings
        assert first_data_wait(name) == words.first_data_wait_s
        snap = LinkSnapshot(name="chair 1", protocol=name, url="/dev/ttyUSB0", settings=settings,
                            state=LinkState.CONNECTED, bytes_in=0, bytes_out=0, connects=1, disconnects=0,
                            frames_ok=0, frames_bad=0, resyncs=0, port_error="", decode_error="")
        quiet = advise(snap, elapsed=60)
        assert quiet.fix == words.no_answer_fix.format(settings=settings, requests="")
        garbage = advise(replace(snap, bytes_in=900), elapsed=60)
        assert garbage.problem == "900 bytes arrived but none decoded" + words.undecodable
