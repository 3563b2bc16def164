"""experiments/run.py: RunConfig (its checks refuse what the optimiser and schedule would refuse
later; its saved form). train, evaluate_checkpoint and demo are tested end to end in
tests/test_cli.py, tests/experiments/test_reproduce.py and tests/train/test_extend.py."""

import dataclasses

import pytest

from ttnet.experiments import RunConfig


@pytest.mark.parametrize("field, value, words", [
    ("momentum", 1.0, r"momentum must be in \[0.0, 1.0\), got 1.0"),
    ("momentum", 1.5, r"momentum must be in \[0.0, 1.0\), got 1.5"),
    ("momentum", -0.1, r"momentum must be in \[0.0, 1.0\), got -0.1"),
    ("lr_gamma", 0.0, r"lr_gamma must be in \(0.0, 1.0\], got 0.0"),
    ("lr_gamma", 2.0, r"lr_gamma must be in \(0.0, 1.0\], got 2.0"),
])
def test_out_of_range_values_name_the_field(field, value, words):
    with pytest.raises(ValueError, match=words):
        RunConfig(**{field: value}).validate()


@pytest.mark.parametrize("field, value", [("momentum", "0.9"), ("lr_gamma", None)])
def test_non_numbers_name_the_field(field, value):
    with pytest.raises(TypeError, match=f"{field} must be a real number"):
        RunConfig(**{field: value}).validate()


def test_the_edges_that_sgd_and_step_lr_accept():
    assert RunConfig(momentum=0.0, lr_gamma=1.0).validate().momentum == 0.0
    assert RunConfig(momentum=0.999, lr_gamma=1e-3).validate().lr_gamma == 1e-3


def test_run_config_to_dict_is_unchanged_without_bits():
    config = RunConfig()
    saved = config.to_dict()
    assert "bits" not in saved and "quant_method" not in saved
    expected = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)
                if f.name not in ("bits", "quant_method")}
    assert saved == expected
    assert RunConfig(bits=4).to_dict()["bits"] == 4
    with pytest.raises(ValueError, match="bits must be an integer from 2 to 8, got 9"):
        RunConfig(bits=9).validate()
    with pytest.raises(TypeError, match="bits must be an integer"):
        RunConfig(bits=4.0).validate()
    assert "quant_method" not in RunConfig(bits=4).to_dict()
    assert RunConfig(bits=4, quant_method="mse").to_dict()["quant_method"] == "mse"
    with pytest.raises(ValueError, match="quant_method"):
        RunConfig(bits=4, quant_method="minmax").validate()
    with pytest.raises(ValueError, match="quant_method='mse' is only used with bits"):
        RunConfig(quant_method="mse").validate()
