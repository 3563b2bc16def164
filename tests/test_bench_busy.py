"""The busy-machine benchmark runs, with its competitors, and reports every layer."""

from pathlib import Path

import pytest

from .helpers import load_script

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_busy.py"


@pytest.fixture(scope="module")
def bench():
    return load_script(SCRIPT, "bench_busy")


def test_quick_run_times_every_layer_idle_and_busy(bench, capsys):
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "1 competing processes" in out
    rows = [line for line in out.splitlines() if line.rstrip().endswith("x")]
    # Conv2d, BatchNorm2d, MaxPool2d, TTConv2d's and TTLinear's algorithms
    assert len(rows) == 3 + 3 + 2


def test_bad_arguments_are_refused(bench):
    with pytest.raises(SystemExit):
        bench.main(["--competitors", "0"])


def test_demo_run_reports_images_per_second_alone_and_busy(bench, capsys):
    assert bench.main(["--demo", "--competitors", "1", "--epochs", "1"]) == 0
    line = [line for line in capsys.readouterr().out.splitlines() if line.startswith("demo")][0]
    assert "images/s alone" in line and line.endswith("x slower")
    with pytest.raises(SystemExit):
        bench.main(["--demo", "--epochs", "0"])
