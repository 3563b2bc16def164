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
    rates = (150e9, 12e9, 40e9, 10e9)        # wide products, spatial step, other, bandwidth
    rows = []
    for _ in range(30):
        work = (rng.uniform(1e8, 1e10), rng.uniform(1e7, 1e9), rng.uniform(1e7, 1e9),
                rng.uniform(1e7, 1e9))
        rows.append((*work, sum(w / rate for w, rate in zip(work, rates))))
    fitted = bench.fit(rows)
    np.testing.assert_allclose(fitted, rates, rtol=1e-6)


def test_fit_keeps_constants_positive(bench):
    # times that need a negative memory term: the fit drops that term instead (infinite bandwidth)
    rows = [(1e9, 1e8, 0.0, 1e9, 1e9 / 100e9 + 1e8 / 10e9),
            (2e9, 1e8, 0.0, 1e8, 2e9 / 100e9 + 1e8 / 10e9 + 1e-3),
            (1e9, 3e8, 0.0, 1e8, 1e9 / 100e9 + 3e8 / 10e9 + 1e-3)]
    fitted = bench.fit(rows)
    assert len(fitted) == 4 and all(rate > 0 for rate in fitted)


def test_quick_run_prints_the_verdict(bench, capsys):
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "auto within 1.15x of the fastest algorithm:" in out
    assert out.count("auto/best") == 2


def test_bad_repeats_is_an_error(bench):
    with pytest.raises(SystemExit):
        bench.main(["--repeats", "0"])
