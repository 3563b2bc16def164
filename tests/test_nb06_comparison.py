"""Notebook 06's stored comparison is what ``scripts/nb06_comparison.py`` says it writes.

The notebook reads ``notebooks/data/06_comparison.json`` instead of training nine networks. These
tests tie that file to the script that wrote it (same configurations, epochs and command) and to
the code (the stored parameter counts are those of the networks ``ttnet.models`` builds), without
training anything.
"""

import json
import pathlib

import pytest

from ttnet import models
from .helpers import load_script

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT / "notebooks" / "data" / "06_comparison.json"


@pytest.fixture(scope="module")
def script():
    return load_script(ROOT / "scripts" / "nb06_comparison.py", "nb06_comparison")


@pytest.fixture(scope="module")
def stored():
    return json.loads(DATA.read_text(encoding="utf-8"))


def test_the_file_holds_the_scripts_runs(script, stored):
    assert stored["command"] == ("PYTHONPATH=. python scripts/nb06_comparison.py "
                                 "notebooks/data/06_comparison.json")
    assert [run["config"] for run in stored["runs"]] == \
        [config.to_dict() for config in script.comparison_configs()]
    assert all(run["epochs"] == script.EPOCHS for run in stored["runs"])
    assert all(len(run["history"]) == script.EPOCHS for run in stored["runs"])
    assert stored["live"]["config"] == script.live_config().to_dict()
    assert len(stored["live"]["history"]) == stored["live"]["epochs"] == script.LIVE_EPOCHS


def test_the_stored_sizes_are_those_of_the_networks(script, stored):
    for run in stored["runs"] + [stored["live"]]:
        config = run["config"]
        model = models.build(config["model"], input_shape=(1, 32, 32), width=config["width"],
                             conv_ranks=config["conv_ranks"], rng=0)
        summary = models.summary(model, (1, 32, 32), verbose=False)
        assert (run["n_params"], run["dense_params"]) == (summary.n_params, summary.dense_params)
        assert run["compression"] == pytest.approx(summary.compression, rel=1e-12)


def test_the_naive_rank_matches_the_tt_conv_budget(script):
    """The script's NAIVE_RANK is the one notebook 06 derives: closest in whole-network size."""
    def size(name, rank):
        model = models.build(name, input_shape=(1, 32, 32), width=script.WIDTH,
                             conv_ranks=rank, rng=0)
        return models.summary(model, (1, 32, 32), verbose=False).n_params

    target = size("tt-conv", script.TT_RANK)
    naive = {r: size("naive-tt-conv", r) for r in range(1, 11)}
    assert min(naive, key=lambda r: abs(naive[r] - target)) == script.NAIVE_RANK
