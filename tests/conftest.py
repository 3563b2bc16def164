"""Shared pytest configuration: hypothesis profiles and the fixtures used across test files
(helper functions are in tests/helpers.py).

Profiles (select with ``--hypothesis-profile NAME`` or ``HYPOTHESIS_PROFILE=NAME``):

* ``dev`` (default): 30 examples per property, random seeds.
* ``ci``: 30 examples, derandomised, so CI runs are reproducible.
* ``thorough``: 500 examples, for a long local run before a release.
"""

import os

# Before NumPy loads OpenBLAS, as `import ttnet` does it for a user who imports ttnet first
# (ttnet/__init__.py; without it ttnet warns, since NumPy is then loaded before ttnet).
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

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
