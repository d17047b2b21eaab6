"""Fixtures of the policy pack's tests."""

import pytest
from crossguard_shipped import shipped_report


@pytest.fixture(scope="session")
def shipped():
    """Return the function that records a shipped stack once and reports on it."""
    return shipped_report
