"""The training-step benchmark: its per-layer profile adds up, and its smoke run runs."""

from pathlib import Path

import pytest

from ttnet import models

from .helpers import load_script

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_train.py"


@pytest.fixture(scope="module")
def bench():
    return load_script(SCRIPT, "bench_train")


def test_profile_covers_every_layer_type_and_adds_up_to_the_step(bench):
    total, by_type, outside = bench.profile_step("conv", (1, 32, 32), repeats=1, batch=4)
    model = models.build("conv", input_shape=(1, 32, 32), num_classes=10, rng=0)
    assert set(by_type) == {type(layer).__name__ for layer in model.children()}
    assert all(fwd >= 0 and bwd >= 0 for fwd, bwd in by_type.values())
    # one run: the total is the sum of the timed calls
    assert sum(fwd + bwd for fwd, bwd in by_type.values()) == pytest.approx(total, rel=1e-9)
    assert by_type["Conv2d"][0] > 0 and by_type["Conv2d"][1] > 0
    assert set(outside) == {"loss", "SGD update"} and all(t > 0 for t in outside.values())


def test_quick_run_with_profile_prints_the_table(bench, capsys):
    bench.main(["--quick", "--profile", "--models", "conv"])
    out = capsys.readouterr().out
    assert "profile: conv at 3x32x32" in out
    assert "Conv2d" in out and "share" in out
    assert "besides the layers: loss" in out and "SGD update" in out


def test_bad_repeats_is_an_error(bench):
    with pytest.raises(SystemExit):
        bench.main(["--repeats", "0"])
