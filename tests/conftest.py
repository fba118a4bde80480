"""Shared pytest configuration for the mcp_ref test suite."""

import pytest

import rawpipe


def pytest_configure(config):
    # Every test that checks a spec rule names the catalogue rows it proves
    # (shared/spec/catalogue.md), so `grep -rn CN-03 mcp_ref tests spec_notes` finds the rule,
    # the code and the test together.
    config.addinivalue_line("markers", "spec(*ids): catalogue IDs this test checks")


@pytest.fixture
def inv(request):
    """The invariants I1-I7 of the reliability scorecard, checked after the test (see
    tests/rawpipe.py). A test registers what it starts: ``inv.spawn(...)``, ``inv.raw(...)``."""
    yield from rawpipe.invariants_fixture(request)
