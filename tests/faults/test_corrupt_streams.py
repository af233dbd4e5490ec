"""Corrupt bytes through every driver of the registry: no exception, and resynchronised within one frame.

A clean device stream is recorded from each protocol's emulator talking to its driver (in memory, with a fake
clock), one chunk per emulator tick. It is then replayed into fresh drivers (their ``outgoing`` still called
at the same times, so polling drivers stay in the same state) with one chunk corrupted: random garbage before
it, the chunk cut short (the rest of its frame never arrives), or one bit flipped. Whatever happens to the
corrupted frame, the next chunk that carries frames must decode exactly as in the clean replay. Seeded random
positions and lengths: the same cases every run.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from devices import registry
from devices.driver import Driver
from devices.model import Numeric

pytestmark = pytest.mark.faults

T0 = 1_790_000_000.0
TICK = 0.05
SECONDS = 12.0
TRIALS = 25
PROTOCOLS = [p for p in registry.available() if registry.get(p).make_emulator is not None]


@dataclass(frozen=True, slots=True)
class Chunk:
    now: float
    data: bytes
    frames: int  # frames the driver decoded from it in the clean run


def record_stream(protocol: str) -> list[Chunk]:
    """A clean device-to-host stream: the emulator answering the driver's requests, tick by tick."""
    from devices.simulator import Simulator

    info = registry.get(protocol)
    assert info.make_emulator is not None
    emulator = info.make_emulator(Simulator("stable", seed=0))
    driver = info.driver(source=protocol)
    chunks = []
    for i in range(int(SECONDS / TICK)):
        now = T0 + i * TICK
        request = driver.outgoing(now)
        if request:
            emulator.receive(request, now)
        data = emulator.outgoing(now)
        before = driver.stats.frames_ok
        driver.feed(data, now)
        chunks.append(Chunk(now, data, driver.stats.frames_ok - before))
    assert driver.stats.frames_bad == 0
    return chunks


def replay(protocol: str, chunks: list[Chunk], at: int = -1,
           corrupt: Callable[[bytes], bytes] | None = None) -> tuple[list[int], Driver]:
    """Frames decoded per chunk when ``chunks`` go to a fresh driver, chunk ``at`` through ``corrupt``."""
    driver = registry.get(protocol).driver(source=protocol)
    decoded = []
    for i, chunk in enumerate(chunks):
        driver.outgoing(chunk.now)
        data = corrupt(chunk.data) if i == at and corrupt is not None else chunk.data
        before = driver.stats.frames_ok
        driver.feed(data, chunk.now)
        decoded.append(driver.stats.frames_ok - before)
    return decoded, driver


def garbage(rng: random.Random) -> Callable[[bytes], bytes]:
    return lambda data: rng.randbytes(rng.randrange(1, 300)) + data


def truncated(rng: random.Random) -> Callable[[bytes], bytes]:
    return lambda data: data[:rng.randrange(1, len(data))]


def bit_flipped(rng: random.Random) -> Callable[[bytes], bytes]:
    def flip(data: bytes) -> bytes:
        out = bytearray(data)
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
        return bytes(out)

    return flip


CORRUPTIONS = {"garbage": garbage, "truncated": truncated, "bit_flipped": bit_flipped}


@pytest.fixture(scope="module")
def streams() -> dict[str, list[Chunk]]:
    return {p: record_stream(p) for p in PROTOCOLS}


@pytest.mark.parametrize(("protocol", "corruption"), [(p, c) for p in PROTOCOLS for c in CORRUPTIONS])
def test_next_frame_decodes_after_a_corrupt_one(streams, protocol: str, corruption: str) -> None:
    chunks = streams[protocol]
    clean, _ = replay(protocol, chunks)
    assert [c.frames for c in chunks] == clean  # replaying reproduces the live run
    with_frames = [i for i, n in enumerate(clean) if n > 0]
    assert len(with_frames) > 8, f"{protocol}: too few frames in {SECONDS} s to test with"
    rng = random.Random(f"{protocol}-{corruption}")
    failures = []
    for _ in range(TRIALS):
        at = rng.choice(with_frames[2:-1])  # after the link is up, with a frame-carrying chunk after it
        following = next(i for i in with_frames if i > at)
        decoded, driver = replay(protocol, chunks, at, CORRUPTIONS[corruption](rng))
        if decoded[following] != clean[following]:
            failures.append(f"chunk {at} {corruption}: next chunk {following} decoded {decoded[following]} "
                            f"of {clean[following]} frames")
        # later frames are all back too
        assert decoded[following + 1:] == clean[following + 1:], \
            f"{protocol} did not recover after chunk {at}"
    assert not failures, f"{protocol}: {len(failures)}/{TRIALS} trials lost the next frame: {failures[:3]}"


@pytest.mark.parametrize("protocol", registry.available())
def test_a_long_stretch_of_noise_then_a_clean_stream(streams, protocol: str) -> None:
    """64 KiB of random bytes (a wrong baud rate, a cable in the wrong socket), then the real device."""
    driver = registry.get(protocol).driver(source=protocol)
    rng = random.Random(protocol)
    for i in range(64):
        driver.outgoing(T0 - 100 + i)
        driver.feed(rng.randbytes(1024), T0 - 100 + i)  # must not raise
    if protocol not in streams:  # the simulator makes its own samples and ignores bytes
        assert any(isinstance(s, Numeric) for s in driver.feed(b"", T0 + 60.0))
        return
    assert driver.stats.frames_bad + driver.stats.resyncs > 0, "a stream of noise went unnoticed"
    chunks = streams[protocol]
    decoded = []
    for chunk in chunks:
        driver.outgoing(chunk.now)
        before = driver.stats.frames_ok
        driver.feed(chunk.data, chunk.now)
        decoded.append(driver.stats.frames_ok - before)
    clean = [c.frames for c in chunks]
    first = next(i for i, n in enumerate(clean) if n > 0)
    # the first frame may still be glued to the noise; every frame after it decodes
    assert decoded[first + 1:] == clean[first + 1:]
    assert decoded[first] >= clean[first] - 1
