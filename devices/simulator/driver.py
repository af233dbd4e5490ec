"""The simulator as a device driver, so the acquisition loop treats it like any monitor.

The simulator has no wire protocol: :meth:`SimulatorDriver.feed` ignores the bytes and returns what the
simulator produced up to ``now``. Link events: ``ASSOCIATED`` at the first call, then ``LOST`` when the
``disconnect`` scenario makes the device fall silent and ``ASSOCIATED`` when it comes back, in time order
among the samples (they are reported even when one ``feed`` call spans the whole silent window).
"""

from __future__ import annotations

from typing import ClassVar

from devices.driver import Driver, Troubleshooting
from devices.model import LinkEvent, LinkState, Sample
from devices.simulator.core import Simulator
from devices.transport import PortSettings


class SimulatorDriver(Driver):
    """Driver wrapping a :class:`~devices.simulator.Simulator` (``stable``, seed 0 unless one is given)."""

    name: ClassVar[str] = "simulator"
    title: ClassVar[str] = "Built-in simulator"
    default_settings: ClassVar[PortSettings] = PortSettings()  # unused: no port
    setup_help: ClassVar[str] = (
        "No monitor or cable needed: a simulated patient with ECG, pleth, respiration and CO2 waves, "
        "SpO2, HR, RR, EtCO2, temperature and a 5-minute NIBP cycle. Scenarios: stable, hypertensive, "
        "desaturation, artifact, disconnect, noise. Never use simulated data for a patient."
    )
    troubleshooting: ClassVar[Troubleshooting] = Troubleshooting(
        first_data_wait_s=2.0,  # the simulator produces data from its first step
        no_answer="The built-in simulator produced nothing.",
        no_answer_fix=("No port or cable is involved, so this is a software fault: restart Chairside and "
                       "report it if it happens again."),
        undecodable=" from the simulator.",
        undecodable_fix=("The simulator takes no bytes from a port: choose a device protocol for this "
                         "profile."),
    )

    def __init__(self, source: str = "", simulator: Simulator | None = None) -> None:
        super().__init__(source=source)
        self.simulator = simulator if simulator is not None else Simulator()
        self._associated = False

    def feed(self, data: bytes, now: float) -> list[Sample]:
        """Everything the simulator produced up to host time ``now`` (``data`` is ignored)."""
        self.stats.bytes_in += len(data)
        out: list[Sample] = []
        if not self._associated:
            self._associated = True
            out.append(LinkEvent(LinkState.ASSOCIATED, "built-in simulator running", now, self.source))
        try:
            samples = self.simulator.advance(now, with_link_events=True)
        except ValueError as exc:  # a non-finite clock reading: report it, keep the simulator as it was
            self.stats.last_error = str(exc)
            return out
        for sample in samples:
            if isinstance(sample, LinkEvent):
                sample = LinkEvent(sample.state, sample.message, now, self.source)
            out.append(sample)
        self.stats.frames_ok += len(samples)
        return out

    def reset(self) -> None:
        """A reconnect announces the association again; the simulated patient carries on."""
        self._associated = False


DRIVER = SimulatorDriver
