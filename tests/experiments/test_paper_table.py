"""The suite paper-table: compressions that match the paper's, one recipe for every family."""

import dataclasses
import functools
import json
import pathlib
import warnings

import pytest

from ttnet import models
from ttnet.experiments import get_suite
from ttnet.experiments.paper_table import EPOCHS, PAPER, RECIPE, TT_CONV_TT_FC_LR
from ttnet.train.run_dir import model_description

SUITE = get_suite("paper-table")


@functools.lru_cache(maxsize=None)
def _compression(model, width, conv_ranks, fc_ranks):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # oversized first TT-conv bonds (as the paper's)
        net = models.build(model, (1, 32, 32), 10, width, _unhashable(conv_ranks),
                           _unhashable(fc_ranks), rng=0)
    return models.summary(net, (1, 32, 32), verbose=False).compression


def _unhashable(ranks):
    return list(ranks) if isinstance(ranks, tuple) else ranks


def compression(row):
    c = row.config
    key = lambda r: None if r is None else tuple(r) if isinstance(r, list) else r
    return _compression(c.model, c.width, key(c.conv_ranks), key(c.fc_ranks))


@pytest.mark.parametrize("row", [r for r in SUITE.rows if r.target_compression is not None],
                         ids=lambda r: r.name)
def test_every_compressed_row_matches_its_target_within_one_percent(row):
    assert compression(row) == pytest.approx(row.target_compression, rel=0.01)


def test_baselines_are_uncompressed_and_carry_the_papers_baseline_figures():
    for name, family in (("conv-s0", "conv"), ("conv-fc-s0", "conv-fc")):
        row = SUITE.row(name)
        assert compression(row) == 1.0 and row.paper == PAPER[family][0]


def test_claim_one_has_three_levels_two_seeds_each_in_both_schemes():
    cells = {}
    for row in SUITE.rows:
        if row.family in ("tt-conv", "naive-tt-conv"):
            cells.setdefault((row.family, row.target_compression), set()).add(row.config.seed)
    levels = sorted({level for _, level in cells})
    assert len(levels) >= 3 and levels[0] <= 2.1 and levels[-1] >= 3.9
    for family in ("tt-conv", "naive-tt-conv"):
        for level in levels:
            assert cells[(family, level)] == {0, 1}
            # the two schemes are within 1 % of each other, not only of the target
            a = compression(SUITE.row(f"tt-conv-{level:.2f}x-s0"))
            b = compression(SUITE.row(f"naive-tt-conv-{level:.2f}x-s0"))
            assert a == pytest.approx(b, rel=0.012)


def test_claim_two_rows_span_ten_to_eighty_times():
    targets = sorted(r.target_compression for r in SUITE.rows if r.family == "tt-conv-tt-fc")
    assert targets == [9.69, 41.65, 82.87]
    assert len([r for r in SUITE.rows if r.family == "conv-tt-fc"]) == 2


def test_every_family_shares_one_recipe():
    """Only model, ranks, seed (and the paper's lr for tt-conv-tt-fc, the fine-tune's) differ."""
    for row in SUITE.rows:
        expected_lr = (TT_CONV_TT_FC_LR if row.family == "tt-conv-tt-fc"
                       else row.config.lr if row.is_post_training else RECIPE.lr)
        same = dataclasses.replace(row.config, model=RECIPE.model, conv_ranks=None,
                                   fc_ranks=None, seed=RECIPE.seed, lr=RECIPE.lr)
        assert same == RECIPE, row.name
        assert row.config.lr == expected_lr
        assert row.epochs == EPOCHS or row.is_post_training or row.name == "conv-long-s0"


def test_post_training_rows_compress_the_dense_baseline_to_a_from_scratch_rows_ranks():
    for row in SUITE.rows:
        if row.is_post_training:
            assert SUITE.row(row.source).config.model == "conv"
            twin = SUITE.row(f"{row.config.model}-{row.target_compression:.2f}x-s0")
            assert twin.config.conv_ranks == row.config.conv_ranks


def test_a_committed_run_is_recognised_by_this_code():
    """The run of row conv-s0 (docs/results/paper-table/conv-s0/config.json, written when the
    paper-table runs started) records exactly what this code records for the same row: the
    RunConfig fields in the same order and the model's description (layer reprs, parameter
    names and shapes), so ``ttnet reproduce`` resumes and reports those runs."""
    path = pathlib.Path(__file__).parents[2] / "docs/results/paper-table/conv-s0/config.json"
    recorded = json.loads(path.read_text(encoding="utf-8"))["run"]
    row = SUITE.row("conv-s0")
    fields = json.loads(json.dumps(row.config.to_dict()))
    assert list(recorded["config"])[:len(fields)] == list(fields)
    assert {key: recorded["config"][key] for key in fields} == fields
    c = row.config
    model = models.build(c.model, recorded["config"]["input_shape"],
                         len(recorded["config"]["classes"]), c.width, c.conv_ranks, c.fc_ranks,
                         rng=c.seed)
    assert json.loads(json.dumps(model_description(model))) == recorded["model"]
