"""Auto-detect which monitor protocol and line settings answer on a port.

For each protocol (default: every registered one except the simulator) and each of its line settings (the
vendor default first, then ``alternative_settings``), the port is driven for a few seconds exactly as the app
would (:class:`~devices.acquisition.DeviceLink`: association requests and polls go out), and what came back is
counted. The technician's setup screen and ``chairside probe --protocol auto`` show the results best first.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import serial

from devices import registry
from devices.acquisition import DeviceLink
from devices.model import DeviceAlarm, Numeric, Sample, WaveBlock
from devices.transport import PortSettings, open_port

#: a try ends early once this many frames decoded and a value arrived: the answer is clear
ENOUGH_FRAMES = 3


@dataclass(slots=True)
class Result:
    """What one protocol at one line setting got back from the port."""

    protocol: str
    title: str
    settings: PortSettings
    frames_ok: int = 0
    frames_bad: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    #: the first few decoded values in plain words, e.g. ``"SPO2 98 %"``
    first_values: list[str] = field(default_factory=list)
    #: why the port could not be used (open failure), else ""
    error: str = ""
    #: the driver's last decode problem, if any
    last_problem: str = ""

    @property
    def answered(self) -> bool:
        """True when the device answered in this protocol: at least one frame decoded."""
        return self.frames_ok > 0

    def describe(self) -> str:
        """One line for a technician."""
        head = f"{self.protocol} at {self.settings}: "
        if self.error:
            return head + f"port problem: {self.error}"
        if self.answered:
            values = ", ".join(self.first_values) or "no values yet"
            return head + f"ANSWERED, {self.frames_ok} frames ok, {self.frames_bad} bad ({values})"
        if self.bytes_in:
            return head + f"{self.bytes_in} bytes arrived but none decoded ({self.frames_bad} bad frames)"
        return head + "nothing arrived"


def _describe_sample(sample: Sample) -> str | None:
    if isinstance(sample, Numeric):
        value = "--" if sample.value is None else f"{sample.value:g}"
        return f"{sample.label} {value} {sample.unit}".rstrip()
    if isinstance(sample, WaveBlock):
        return f"{sample.label} wave {sample.fs:g}/s"
    if isinstance(sample, DeviceAlarm) and sample.active:
        return f"alarm: {sample.text}"
    return None


def candidate_settings(protocol: str) -> list[PortSettings]:
    """The line settings worth trying for ``protocol``: its default, then its alternatives (no duplicates)."""
    driver = registry.get(protocol).driver
    result: list[PortSettings] = []
    for s in (driver.default_settings, *driver.alternative_settings):
        if s not in result:
            result.append(s)
    return result


def try_one(url: str, protocol: str, settings: PortSettings, seconds: float, *,
            opener: Callable[[str, PortSettings], serial.SerialBase] = open_port,
            clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> Result:
    """Drive ``url`` with ``protocol`` at ``settings`` for up to ``seconds``; report what came back."""
    info = registry.get(protocol)
    result = Result(protocol, info.driver.title, settings)
    seen: list[str] = []

    def sink(samples: list[Sample]) -> None:
        for s in samples:
            text = _describe_sample(s)
            if text and len(seen) < 6 and text not in seen:
                seen.append(text)

    driver = info.driver(source=f"autodetect:{protocol}")
    link = DeviceLink(driver, url, settings, sink, opener=opener, clock=clock, name=f"autodetect {protocol}")
    start = clock()
    try:
        while True:
            remaining = seconds - (clock() - start)
            if remaining <= 0 or (driver.stats.frames_ok >= ENOUGH_FRAMES and seen):
                break
            wait = link.step()
            if link.counters.connects == 0 and link.last_error:
                result.error = link.last_error
                break  # the port itself is the problem; other settings will not help either
            if wait > 0:
                sleep(min(wait, max(0.0, remaining)))
    finally:
        link.shutdown()
    result.frames_ok = driver.stats.frames_ok
    result.frames_bad = driver.stats.frames_bad
    result.bytes_in = link.counters.bytes_in
    result.bytes_out = link.counters.bytes_out
    result.first_values = seen
    result.last_problem = driver.stats.last_error
    return result


def autodetect(url: str, protocols: Iterable[str] | None = None, seconds_per_try: float = 3.0, *,
               opener: Callable[[str, PortSettings], serial.SerialBase] = open_port,
               on_result: Callable[[Result], None] | None = None) -> list[Result]:
    """Try every protocol and line setting on ``url``; return the results, those that answered first
    (most frames decoded first). A protocol's remaining settings are skipped once one of them answered.
    Stops early when the port cannot be opened at all (the last result has ``error`` set). ``on_result`` is
    called after each try (progress display)."""
    if protocols is None:
        protocols = [p for p in registry.available() if p != "simulator"]
    names = list(protocols)
    results: list[Result] = []
    for name in names:
        try:
            settings_list = candidate_settings(name)
        except ImportError:
            continue  # a protocol not built into this installation
        for settings in settings_list:
            result = try_one(url, name, settings, seconds_per_try, opener=opener)
            results.append(result)
            if on_result:
                on_result(result)
            if result.error:
                return results
            if result.answered:
                break  # the device speaks this protocol at these settings: other bauds add nothing
    return sorted(results, key=lambda r: (not r.answered, -r.frames_ok, r.frames_bad))
