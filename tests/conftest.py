"""Shared pytest configuration: hypothesis profiles and the fixtures used across test files
(helper functions are in tests/helpers.py).

Profiles (select with ``--hypothesis-profile NAME`` or ``HYPOTHESIS_PROFILE=NAME``):

* ``dev`` (default): 30 examples per property, random seeds.
* ``ci``: 30 examples, derandomised, so CI runs are reproducible.
* ``thorough``: 500 examples, for a long local run before a release.
"""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

_common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=30, **_common)
settings.register_profile("ci", max_examples=30, derandomize=True, print_blob=True, **_common)
settings.register_profile("thorough", max_examples=500, **_common)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture
def rng():
    """A seeded generator, so a failing test fails the same way every run."""
    return np.random.default_rng(20161103)



@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """An empty $HOME (so ~/.cache/ttnet is empty) and no $TTNET_DATA / $TTNET_DATA_URL."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("TTNET_DATA", raising=False)
    monkeypatch.delenv("TTNET_DATA_URL", raising=False)
    return home
