"""The algorithm-choice benchmark: its fit recovers known constants, and its smoke run runs."""

import json
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
    rates = (150e9, 40e9, 10e9)               # wide products, other arithmetic, bandwidth
    rows = []
    for _ in range(30):
        work = (rng.uniform(1e8, 1e10), rng.uniform(1e7, 1e9), rng.uniform(1e7, 1e9))
        rows.append((*work, sum(w / rate for w, rate in zip(work, rates))))
    fitted = bench.fit(rows)
    np.testing.assert_allclose(fitted, rates, rtol=1e-6)


def test_fit_keeps_constants_positive(bench):
    # times that need a negative memory term: the fit drops that term instead (infinite bandwidth)
    rows = [(1e9, 1e8, 1e9, 1e9 / 100e9 + 1e8 / 10e9),
            (2e9, 1e8, 1e8, 2e9 / 100e9 + 1e8 / 10e9 + 1e-3),
            (1e9, 3e8, 1e8, 1e9 / 100e9 + 3e8 / 10e9 + 1e-3)]
    fitted = bench.fit(rows)
    assert len(fitted) == 3 and all(rate > 0 for rate in fitted)


def test_quick_run_prints_the_verdict(bench, capsys):
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "auto within 1.15x of the fastest algorithm:" in out
    assert out.count("auto/best") == 2


def test_bad_repeats_is_an_error(bench):
    with pytest.raises(SystemExit):
        bench.main(["--repeats", "0"])


def test_saved_runs_refit_and_count_without_timing(bench, tmp_path, capsys):
    first, second = tmp_path / "run1.json", tmp_path / "run2.json"
    assert bench.main(["--quick", "--save", str(first)]) == 0
    assert bench.main(["--quick", "--save", str(second)]) == 0
    capsys.readouterr()
    assert bench.main(["--fit-runs", str(first), str(second)]) == 0
    out = capsys.readouterr().out
    assert "fitted on 2 runs: WIDE_FLOPS_PER_SECOND" in out
    assert f"{first}: auto within 1.15x on" in out and "of 2 cases" in out


def test_goal_met_counts_the_cases_where_the_choice_is_near_the_fastest(bench):
    # TT-FC at rank 2, batch 2: sequential does less of everything, so any constants pick it
    case = dict(kind="linear", in_modes=[4, 8, 8, 4], out_modes=[4, 8, 8, 4], rank=2,
                shape=[2, 1024])
    code = (bench.TF.WIDE_FLOPS_PER_SECOND, bench.TF.OTHER_FLOPS_PER_SECOND,
            bench.TF.BYTES_PER_SECOND)
    assert bench.goal_met([dict(case, ms={"full": 10.0, "sequential": 1.0})], code) == 1
    assert bench.goal_met([dict(case, ms={"full": 1.0, "sequential": 1.1})], code) == 1
    assert bench.goal_met([dict(case, ms={"full": 1.0, "sequential": 1.2})], code) == 0


def test_save_never_overwrites_and_bad_runs_are_named(bench, tmp_path):
    taken = tmp_path / "taken.json"
    taken.write_text("mine")
    with pytest.raises(SystemExit):
        bench.main(["--quick", "--save", str(taken)])
    assert taken.read_text() == "mine"
    with pytest.raises(SystemExit, match="not a run saved by --save"):
        bench.main(["--fit-runs", str(taken)])


def test_fit_runs_times_nothing_and_checks_each_case(bench, tmp_path, monkeypatch):
    saved = tmp_path / "run.json"
    assert bench.main(["--quick", "--save", str(saved)]) == 0

    def no_timing(*args, **kwargs):
        raise AssertionError("--fit-runs timed something")
    monkeypatch.setattr(bench, "median_ms", no_timing)
    assert bench.main(["--fit-runs", str(saved)]) == 0
    run = json.loads(saved.read_text())
    del run["cases"][0]["ms"]["full"]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(run))
    with pytest.raises(SystemExit, match="case 0 needs the times of"):
        bench.main(["--fit-runs", str(broken)])
    with pytest.raises(SystemExit):
        bench.main(["--fit-runs", str(saved), "--quick"])


def test_save_to_a_missing_folder_fails_before_timing(bench, tmp_path, monkeypatch):
    def no_timing(*args, **kwargs):
        raise AssertionError("timed before the file was known to be writable")
    monkeypatch.setattr(bench, "median_ms", no_timing)
    with pytest.raises(SystemExit):
        bench.main(["--quick", "--save", str(tmp_path / "missing" / "run.json")])
