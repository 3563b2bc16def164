"""Rows and suites: validation, selection, and the ``ttnet train`` command of every row."""

import dataclasses
import shlex

import pytest

from ttnet.cli import build_parser, run_config_from_args
from ttnet.experiments import RunConfig, Row, Suite, get_suite
from ttnet.experiments.registry import SUITES, format_ranks, register

BASE = RunConfig(model="tt-conv", width=0.25, conv_ranks=4, data="fashion-mnist-mini")


def test_row_rejects_bad_fields():
    with pytest.raises(ValueError, match="name"):
        Row("", "tt-conv", BASE, 1)
    with pytest.raises(ValueError, match="name"):
        Row("a/b", "tt-conv", BASE, 1)
    with pytest.raises(TypeError, match="config of row 'r' must be a RunConfig"):
        Row("r", "tt-conv", {"model": "tt-conv"}, 1)
    with pytest.raises(ValueError, match="epochs of row 'r'"):
        Row("r", "tt-conv", BASE, 0)
    with pytest.raises(ValueError, match="model must be one of"):
        Row("r", "x", dataclasses.replace(BASE, model="resnet"), 1)


def test_suite_rejects_duplicates_and_unknown_sources_and_names_valid_rows():
    row = Row("a", "tt-conv", BASE, 1)
    with pytest.raises(ValueError, match="duplicate row names: \\['a'\\]"):
        Suite("s", "", (row, row))
    with pytest.raises(ValueError, match="starts from 'missing'"):
        Suite("s", "", (dataclasses.replace(row, name="b", source="missing"),))
    suite = Suite("s", "", (row, dataclasses.replace(row, name="b")))
    assert [r.name for r in suite.select(["b", "a"])] == ["a", "b"]      # suite order
    assert suite.select(None) == suite.rows
    with pytest.raises(ValueError, match="has no row 'c'; its rows are: a, b"):
        suite.select(["c"])


def test_registry_lookup_and_double_registration():
    assert set(SUITES) >= {"paper-table", "quick"}
    with pytest.raises(ValueError, match="suite must be one of .*got 'nope'"):
        get_suite("nope")
    with pytest.raises(ValueError, match="already registered"):
        register(get_suite("quick"))
    with pytest.raises(TypeError, match="suite must be a Suite"):
        register("quick")


def test_format_ranks_uses_the_cli_syntax():
    assert format_ranks(16) == "16"
    assert format_ranks([22, 20]) == "22/20"
    assert format_ranks([[22, 20, 20], 8]) == "22,20,20/8"


def _config_from_command(command: str) -> tuple[RunConfig, int, str]:
    """What 'ttnet train' would run for this command line."""
    argv = shlex.split(command)
    assert argv[:2] == ["ttnet", "train"]
    args = build_parser().parse_args(argv[1:])
    config = run_config_from_args(args)
    return config, args.epochs, args.out


@pytest.mark.parametrize("suite", ["paper-table", "quick"])
def test_train_command_of_every_row_trains_exactly_that_row(suite):
    for row in get_suite(suite).rows:
        if row.is_post_training:
            with pytest.raises(ValueError, match="post-training row"):
                row.train_command("runs/x")
            continue
        config, epochs, out = _config_from_command(row.train_command(f"runs/x/{row.name}"))
        assert config == row.config, row.name
        assert epochs == row.epochs and out == f"runs/x/{row.name}"


def test_train_command_carries_a_step_schedules_gamma():
    row = Row("half", "conv", RunConfig(model="conv", lr_gamma=0.5), epochs=3)
    command = row.train_command("runs/x/half")
    assert "--lr-gamma 0.5" in command
    assert _config_from_command(command)[0] == row.config
    assert "--lr-gamma" not in Row("tenth", "conv", RunConfig(model="conv"), 3).train_command("o")
