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


def test_quick_chunk_sweep_times_each_size_and_restores_the_constant(bench, capsys):
    from ttnet.ops import winograd
    default = winograd.CHUNK_TILES
    bench.main(["--quick", "--only", "chunks"])
    out = capsys.readouterr().out
    assert "Winograd by chunk size" in out
    rows = [line for line in out.splitlines() if line.startswith("| 64→") or
            line.startswith("| 128→")]
    assert len(rows) == len(bench.CONV_SHAPES) - 1
    assert all(len(line.strip(" |").split("|")) == 3 for line in rows)   # layer + 2 sizes
    assert winograd.CHUNK_TILES == default
