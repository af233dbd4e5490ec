"""The built-in physiological simulator: a deterministic device producing :mod:`devices.model` samples.

>>> from devices.simulator import Simulator, SCENARIOS
>>> sim = Simulator(scenario="stable", seed=0, waves=False, start=0.0)
>>> samples = sim.advance_sim(60.0)

See :mod:`devices.simulator.core` for clocks and output, :mod:`devices.simulator.scenarios` for the scenarios
and their event times, :mod:`devices.simulator.physiology` for the infusion response, and
:mod:`devices.simulator.driver` for the :class:`~devices.driver.Driver` wrapper.
"""

from devices.simulator.core import MAX_SPEED, MIN_SPEED, Simulator
from devices.simulator.scenarios import SCENARIOS, Baseline, Scenario

__all__ = ["MAX_SPEED", "MIN_SPEED", "SCENARIOS", "Baseline", "Scenario", "Simulator"]
