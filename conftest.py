"""Every test of this repository runs under the canary sweep: no secret an emulator
issues may reach a log record or captured output."""

import pytest


@pytest.fixture(autouse=True)
def _no_secret_leaks(canary_sweep):
    yield
