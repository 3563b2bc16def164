"""ttnet/_files.py: atomic writes (a crash leaves the old file or the complete new one)."""

import os

import pytest

from ttnet._files import atomic_write


def _files(directory):
    return sorted(os.listdir(directory))


def test_atomic_write_failure_keeps_old_content(tmp_path):
    path = tmp_path / "f.bin"
    atomic_write(path, lambda f: f.write(b"old"))

    def half_then_fail(f):
        f.write(b"new, half")
        raise RuntimeError("crash")

    with pytest.raises(RuntimeError, match="crash"):
        atomic_write(path, half_then_fail)
    assert path.read_bytes() == b"old"
    assert _files(tmp_path) == ["f.bin"]
    atomic_write(path, lambda f: f.write(b"new"))
    assert path.read_bytes() == b"new"
