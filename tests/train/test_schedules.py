"""Learning-rate schedules: values at whole and fractional epochs, errors."""

import math

import pytest

from ttnet.train import ConstantLR, CosineLR, StepLR


def test_constant():
    s = ConstantLR(0.03)
    assert s(0) == s(17.5) == 0.03


def test_step_the_papers_schedule():
    s = StepLR(0.1, step_epochs=30, gamma=0.1)
    assert s(0) == s(29) == s(29.999) == 0.1
    assert s(30) == pytest.approx(0.01, rel=1e-15)
    assert s(59.5) == pytest.approx(0.01, rel=1e-15)
    assert s(60) == pytest.approx(0.001, rel=1e-15)
    assert s(99) == pytest.approx(0.0001, rel=1e-15)


def test_cosine_values():
    s = CosineLR(0.2, total_epochs=8, min_lr=0.02)
    assert s(0) == pytest.approx(0.2)
    assert s(4) == pytest.approx(0.11)                       # half way: the mean
    assert s(2) == pytest.approx(0.02 + 0.18 * (1 + math.cos(math.pi / 4)) / 2)
    assert s(8) == pytest.approx(0.02) and s(100) == pytest.approx(0.02)
    values = [s(k / 10) for k in range(81)]                  # per-step values fall monotonically
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_config_and_repr():
    assert StepLR(0.1, 30, 0.1).config() == {"type": "StepLR", "lr": 0.1, "step_epochs": 30,
                                             "gamma": 0.1}
    assert repr(CosineLR(0.1, 10)) == "CosineLR(lr=0.1, total_epochs=10, min_lr=0.0)"


@pytest.mark.parametrize("make, error, message", [
    (lambda: ConstantLR(-0.1), ValueError, "lr must be in"),
    (lambda: ConstantLR("0.1"), TypeError, "lr must be a real number"),
    (lambda: StepLR(0.1, step_epochs=0), ValueError, "step_epochs must be >= 1"),
    (lambda: StepLR(0.1, step_epochs=2.5), TypeError, "step_epochs must be an integer"),
    (lambda: StepLR(0.1, gamma=0.0), ValueError, r"gamma must be in \(0, 1\]"),
    (lambda: StepLR(0.1, gamma=1.5), ValueError, r"gamma must be in \(0, 1\]"),
    (lambda: CosineLR(0.1, total_epochs=0), ValueError, "total_epochs must be >= 1"),
    (lambda: CosineLR(0.1, total_epochs=5, min_lr=0.2), ValueError, "min_lr must be <= lr"),
    (lambda: StepLR(0.1)(-1), ValueError, "epoch must be in"),
    (lambda: StepLR(0.1)(None), TypeError, "epoch must be a real number"),
    (lambda: CosineLR(0.1, 5)(float("inf")), ValueError, "epoch must be finite"),
])
def test_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()
