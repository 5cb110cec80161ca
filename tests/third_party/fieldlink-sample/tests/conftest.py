"""Every test runs under the canary sweep: no secret the emulator issues may reach a
log record or captured output."""

import pytest


@pytest.fixture(autouse=True)
def _no_secret_leaks(canary_sweep):
    yield
