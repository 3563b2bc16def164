"""Fixtures of the ttnet.data tests (helpers live in ``tests/data/__init__.py``)."""

import pytest


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """An empty $HOME (so ~/.cache/ttnet is empty) and no $TTNET_DATA / $TTNET_DATA_URL."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("TTNET_DATA", raising=False)
    monkeypatch.delenv("TTNET_DATA_URL", raising=False)
    return home
