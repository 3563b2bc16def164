"""ttnet reproduce: run, skip, resume, post-training conversion and the report, end to end.

The suite 'quick' (two rows, fashion-mnist-mini, width 0.25, 2 epochs) is what CI runs.
"""

import csv
import dataclasses
import json
import re

import numpy as np
import pytest

from ttnet import models
from ttnet.cli import main
from ttnet.experiments import RunConfig, Row, Suite, get_suite, train
from ttnet.experiments.reproduce import (compress_trained_conv, format_plan, format_table, plan,
                                         row_state, run_suite, write_report)
from ttnet.train import load_checkpoint

QUICK = get_suite("quick")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """`ttnet reproduce --quick` once, shared by the tests below."""
    out = tmp_path_factory.mktemp("quick")
    assert main(["reproduce", "--quick", "--out", str(out), "--no-progress"]) == 0
    return out


def test_quick_runs_both_rows_and_writes_the_report(quick_run):
    report = quick_run / "report"
    for name in ("results.csv", "table.md", "accuracy_vs_compression.png"):
        assert (report / name).is_file()
    with open(report / "results.csv") as f:
        records = list(csv.DictReader(f))
    assert [r["row"] for r in records] == [row.name for row in QUICK.rows]
    for rec, row in zip(records, QUICK.rows):
        assert int(rec["epochs"]) == row.epochs
        assert 0.3 < float(rec["test_accuracy"]) / 100 <= 1.0
        assert rec["command"].startswith("ttnet train --model " + row.config.model)
        for name in ("metrics.csv", "config.json", "weights.npz"):
            assert (report / row.name / name).is_file()
    table = (report / "table.md").read_text()
    assert "| tt-conv |" in table and "| naive-tt-conv |" in table


def test_reporting_again_keeps_the_weights_files_byte_for_byte(quick_run, tmp_path):
    from ttnet.experiments.reproduce import _same_weights, write_report

    report = quick_run / "report"
    before = {row.name: (report / row.name / "weights.npz").read_bytes() for row in QUICK.rows}
    write_report(QUICK, quick_run, report, log=lambda _: None)
    for row in QUICK.rows:
        assert (report / row.name / "weights.npz").read_bytes() == before[row.name]
        assert not (report / row.name / "weights.new.npz").exists()
    # _same_weights ignores only the writer's environment
    a, b = report / QUICK.rows[0].name / "weights.npz", report / QUICK.rows[1].name / "weights.npz"
    assert _same_weights(a, a) and not _same_weights(a, b)


def test_committed_weights_reevaluate_to_the_reported_accuracy(quick_run, capsys):
    with open(quick_run / "report" / "results.csv") as f:
        records = list(csv.DictReader(f))
    for rec in records:
        weights = quick_run / "report" / rec["row"] / "weights.npz"
        assert main(["eval", "--checkpoint", str(weights)]) == 0
        printed = re.search(r"accuracy (\S+) %", capsys.readouterr().out).group(1)
        assert printed == rec["test_accuracy"] or float(printed) == float(rec["test_accuracy"])
        assert load_checkpoint(weights).optimizer == {}      # weights only


def test_a_second_call_skips_what_is_done(quick_run):
    before = {row.name: (quick_run / row.name / "last.npz").read_bytes() for row in QUICK.rows}
    lines = []
    states = run_suite(QUICK, quick_run, log=lines.append)
    assert [s.status for s in states] == ["done", "done"]
    assert all("skipped" in line for line in lines)
    for row in QUICK.rows:
        assert (quick_run / row.name / "last.npz").read_bytes() == before[row.name]


class Interrupted(Exception):
    pass


def _stop_after_first_epoch(line):
    if line.startswith("epoch 1/"):          # logged after epoch 1's checkpoint is committed
        raise Interrupted


def test_an_interrupted_row_is_resumed_bit_identically(quick_run, tmp_path):
    row = QUICK.rows[0]
    with pytest.raises(Interrupted):
        train(row.config, tmp_path / row.name, row.epochs, progress=False,
              log=_stop_after_first_epoch)
    assert str(row_state(row, tmp_path)) == f"partial (1/{row.epochs} epochs)"
    assert plan(QUICK, tmp_path, [row.name], estimate=False)[0]["state"].startswith("partial")
    run_suite(QUICK, tmp_path, only=[row.name], progress=False, log=lambda line: None)
    resumed = load_checkpoint(tmp_path / row.name / "last.npz")
    straight = load_checkpoint(quick_run / row.name / "last.npz")
    assert resumed.epoch == straight.epoch == row.epochs
    for name in straight.params:
        np.testing.assert_array_equal(resumed.params[name], straight.params[name])


def test_plan_lists_parameters_compression_and_an_estimate(quick_run):
    entries = plan(QUICK, quick_run)
    assert [e["state"] for e in entries] == ["done", "done"]
    assert all(e["measured"] and e["seconds"] > 0 for e in entries)
    assert entries[0]["compression"] == pytest.approx(5.12, abs=0.01)
    fresh = plan(QUICK, None, estimate=True)
    assert all(e["seconds"] > 0 and not e["measured"] for e in fresh)
    text = format_plan(fresh)
    assert "tt-conv-quick" in text and "estimated time still to run" in text
    assert "time not estimated" in format_plan(plan(QUICK, None, estimate=False))


def test_list_prints_the_plan(capsys):
    assert main(["reproduce", "--list", "--no-estimate"]) == 0
    out = capsys.readouterr().out
    for row in get_suite("paper-table").rows:
        assert row.name in out


def _tiny_post_training_suite():
    dense = Row("dense", "conv", RunConfig(model="conv", width=0.25, data="fashion-mnist-mini",
                                           subset=500, ema_decay=0.9, schedule="cosine"), 1)
    post = Row("post", "post-training tt-conv",
               dataclasses.replace(dense.config, model="tt-conv", conv_ranks=3, lr=0.01), 1,
               baseline="conv", source="dense")
    return Suite("tiny", "a dense run and its compression after training", (dense, post))


def test_post_training_waits_for_its_source_then_converts_and_fine_tunes(tmp_path):
    suite = _tiny_post_training_suite()
    post = suite.row("post")
    assert str(row_state(post, tmp_path, suite)) == "waiting for dense"
    lines = []
    run_suite(suite, tmp_path, only=["post"], log=lines.append)
    assert "skipped" in lines[0] and not (tmp_path / "post").exists()
    run_suite(suite, tmp_path, progress=False, log=lines.append)
    assert row_state(post, tmp_path, suite).status == "done"
    before = json.loads((tmp_path / "post" / "before_fine_tune.json").read_text())
    assert before["source"] == "dense" and 0 <= before["test_acc"] <= 1
    saved = load_checkpoint(tmp_path / "post" / "last.npz").config["config"]
    assert saved["init"]["source"] == "dense"
    records = write_report(suite, tmp_path, tmp_path / "report", log=lambda line: None)
    assert records[1]["accuracy_before_fine_tune"] == round(100 * before["test_acc"], 2)
    assert records[1]["command"] == f"ttnet reproduce --out {tmp_path} --only post"


def test_compress_trained_conv_pads_cores_and_keeps_everything_else(rng):
    row = Row("r", "tt-conv", RunConfig(model="tt-conv", width=0.25, conv_ranks=[40, 3, 3, 3, 3],
                                        data="fashion-mnist-mini"), 1)
    dense = models.build("conv", (1, 32, 32), 10, 0.25, rng=1)
    for name, arr in dense.buffers.items():
        arr[...] = rng.uniform(0.5, 2.0, arr.shape)
    compressed = compress_trained_conv(dense, row)
    reference = models.build("tt-conv", (1, 32, 32), 10, 0.25, [40, 3, 3, 3, 3], rng=0)
    assert {k: v.shape for k, v in compressed.params.items()} == \
        {k: v.shape for k, v in reference.params.items()}
    pairs = list(zip(dense.children(), compressed.children()))
    # layer 3 is the first TT-conv (16 -> 16 channels); ranks 40 exceed what the kernel needs,
    # so TT-SVD is exact and the zero padding must not change the kernel
    first_tt = pairs[3]
    np.testing.assert_allclose(first_tt[1].weight(), first_tt[0].params["weight"],
                               rtol=1e-4, atol=1e-5)
    for source, layer in pairs:
        if type(source) is type(layer):
            for name in source.params:
                np.testing.assert_array_equal(layer.params[name], source.params[name])
            for name in source.buffers:
                np.testing.assert_array_equal(layer.buffers[name], source.buffers[name])


def test_table_shows_mean_and_spread_of_seeds_beside_the_paper():
    suite = get_suite("paper-table")
    records = [
        {"row": "conv-s0", "family": "conv", "test_accuracy": 93.0, "compression": 1.0},
        {"row": "tt-conv-2.02x-s0", "family": "tt-conv", "test_accuracy": 92.0,
         "compression": 2.02},
        {"row": "tt-conv-2.02x-s1", "family": "tt-conv", "test_accuracy": 91.0,
         "compression": 2.02},
    ]
    table = format_table(suite, records)
    line = next(l for l in table.splitlines() if l.startswith("| tt-conv |"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[1:6] == ["2.02x", "91.50 ± 0.50", "2", "1.50", "89.9"]
    assert cells[6:] == ["2.02x", "0.8"]


def test_reproduce_rejects_unknown_rows_and_suites(capsys):
    assert main(["reproduce", "--list", "--no-estimate", "--only", "nope"]) == 1
    assert "has no row 'nope'" in capsys.readouterr().err
    assert main(["reproduce", "--suite", "nope", "--list"]) == 1
    assert "suite must be one of" in capsys.readouterr().err
