"""The algorithm-choice benchmark: its fit recovers known constants, and its smoke run runs."""

from pathlib import Path

import numpy as np
import pytest
from .helpers import load_script

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_tt_algorithms.py"


@pytest.fixture(scope="module")
def bench():
    return load_script(SCRIPT, "bench_tt_algorithms")


def test_fit_recovers_the_constants_that_made_the_times(bench):
    rng = np.random.default_rng(0)
    wide_rate, other_rate, bandwidth = 150e9, 40e9, 10e9
    rows = []
    for _ in range(30):
        wide, other, traffic = rng.uniform(1e8, 1e10), rng.uniform(1e7, 1e9), rng.uniform(1e7, 1e9)
        seconds = wide / wide_rate + other / other_rate + traffic / bandwidth
        rows.append((wide, other, traffic, seconds))
    fitted = bench.fit(rows)
    np.testing.assert_allclose(fitted, (wide_rate, other_rate, bandwidth), rtol=1e-6)


def test_fit_keeps_constants_positive(bench):
    # times that need a negative memory term: the fit drops that term instead (infinite bandwidth)
    rows = [(1e9, 0.0, 1e9, 1e9 / 100e9), (2e9, 0.0, 1e8, 2e9 / 100e9 + 1e-3)]
    wide, other, bandwidth = bench.fit(rows)
    assert wide > 0 and other > 0 and bandwidth > 0


def test_quick_run_prints_the_verdict(bench, capsys):
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "auto within 1.15x of the fastest algorithm:" in out
    assert out.count("auto/best") == 2


def test_bad_repeats_is_an_error(bench):
    with pytest.raises(SystemExit):
        bench.main(["--repeats", "0"])
