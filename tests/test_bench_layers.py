"""The layer benchmark: its parts run on their own, and the tile sweep labels auto's choice."""

from pathlib import Path

import pytest

from .helpers import load_script

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_layers.py"


@pytest.fixture(scope="module")
def bench():
    return load_script(SCRIPT, "bench_layers")


def test_quick_tile_sweep_prints_auto_choice_per_row(bench, capsys):
    bench.main(["--quick", "--only", "tiles"])
    out = capsys.readouterr().out
    assert "Where Winograd pays" in out and "## Conv2d" not in out
    rows = [line for line in out.splitlines() if line.startswith("| 32 ") or
            line.startswith("| 64 ")]
    assert len(rows) == 4                                 # 2 shapes x 2 batches in --quick
    assert all(line.rstrip(" |").split("|")[-1].strip() in ("im2col", "winograd")
               for line in rows)


def test_unknown_part_is_an_error(bench):
    with pytest.raises(SystemExit):
        bench.main(["--only", "everything"])
