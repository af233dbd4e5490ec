"""Shared set-up of the fault tests (each module marks its tests ``faults``, so ``pytest -m faults`` runs them
alone): password hashing is cheap, also in the child processes the tests start."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from console.record import passwords


@pytest.fixture(autouse=True, scope="session")
def _fast_hashing() -> Iterator[None]:
    passwords.use_fast_hashing(True)
    os.environ["CHAIRSIDE_FAST_HASH"] = "1"
    yield
    passwords.use_fast_hashing(False)
