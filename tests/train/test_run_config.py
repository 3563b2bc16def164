"""RunConfig.validate refuses what the optimiser and the schedule would refuse later."""

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
