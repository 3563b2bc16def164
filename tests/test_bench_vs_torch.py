"""The PyTorch comparison benchmark: a smoke run of every table, the per-layer one included."""

from pathlib import Path

import pytest

from ttnet import models

from .helpers import load_script

torch = pytest.importorskip("torch")

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_vs_torch.py"


@pytest.fixture(scope="module")
def bench():
    return load_script(SCRIPT, "bench_vs_torch")


def test_quick_run_prints_every_table_and_the_goals(bench, capsys):
    assert bench.main(["--quick", "--per-layer"]) == 0
    out = capsys.readouterr().out
    for heading in ("Layers: forward + backward", "Training steps:",
                    "Layers of the training networks:", "Goals of the speed work"):
        assert heading in out
    for name in ("conv-fc", "tt-conv-tt-fc"):
        n_layers = len(models.build(name, input_shape=(3, 32, 32)).layers)
        block = out.split(f"{name}: layer", 1)[1].split("sum of the layers", 1)[0]
        rows = [line for line in block.splitlines()[1:] if line.strip()]
        assert len(rows) == n_layers                    # one row per layer of the network
        assert all(line.rstrip().endswith("x") for line in rows)   # each with its ratio
    assert out.count("sum of the layers") == 2


def test_per_layer_table_is_optional(bench, capsys):
    assert bench.main(["--quick"]) == 0
    assert "Layers of the training networks" not in capsys.readouterr().out


def test_repeats_must_be_positive(bench):
    with pytest.raises(SystemExit):
        bench.main(["--repeats", "0"])
