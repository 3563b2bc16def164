"""factorize, max_ranks and the rank-argument rules."""

import itertools
import math
import warnings

import pytest
from hypothesis import given, strategies as st

from ttnet.tt import RankClippedWarning, factorize, max_ranks
from ttnet.tt.modes import resolve_ranks


@pytest.mark.parametrize("n, d, expected", [
    (8192, 4, (8, 8, 8, 16)),
    (1536, 4, (4, 6, 8, 8)),
    (512, 4, (4, 4, 4, 8)),
    (64, 3, (4, 4, 4)),
    (128, 3, (4, 4, 8)),
    (72, 2, (8, 9)),
    (7, 3, (1, 1, 7)),
    (1, 2, (1, 1)),
    (10, 1, (10,)),
])
def test_factorize_known_cases(n, d, expected):
    assert factorize(n, d) == expected


def _brute_force_best(n, d):
    """Most balanced factorisation by trying every d-tuple of divisors."""
    divisors = [f for f in range(1, n + 1) if n % f == 0]
    best = None
    for combo in itertools.product(divisors, repeat=d):
        if math.prod(combo) == n:
            key = sorted(combo, reverse=True)
            if best is None or key < best:
                best = key
    return tuple(sorted(best))


@given(n=st.integers(1, 400), d=st.integers(1, 3))
def test_factorize_is_a_balanced_factorisation(n, d):
    f = factorize(n, d)
    assert len(f) == d
    assert math.prod(f) == n
    assert list(f) == sorted(f)
    assert f == _brute_force_best(n, d)


@pytest.mark.parametrize("args, exc, match", [
    ((0, 2), ValueError, "n must be >= 1"),
    ((8, 0), ValueError, "d must be >= 1"),
    ((8.0, 2), TypeError, "n must be an integer"),
    ((8, True), TypeError, "d must be an integer"),
])
def test_factorize_rejects_bad_input(args, exc, match):
    with pytest.raises(exc, match=match):
        factorize(*args)


def test_max_ranks():
    assert max_ranks((4,) * 6) == (1, 4, 16, 64, 16, 4, 1)
    assert max_ranks((2, 100, 3)) == (1, 2, 3, 1)
    assert max_ranks((5,)) == (1, 1)


def test_max_ranks_rejects_bad_modes():
    with pytest.raises(ValueError, match=r"modes\[1\] must be >= 1"):
        max_ranks((3, 0))
    with pytest.raises(TypeError, match="modes must be a sequence"):
        max_ranks(5)


def test_resolve_ranks_forms():
    modes = (4, 4, 4, 4)
    assert resolve_ranks(None, modes) == (1, 4, 16, 4, 1)
    assert resolve_ranks(8, modes) == (1, 4, 8, 4, 1)          # an int is a silent cap
    assert resolve_ranks((2, 3, 2), modes) == (1, 2, 3, 2, 1)   # internal ranks
    assert resolve_ranks((1, 2, 3, 2, 1), modes) == (1, 2, 3, 2, 1)  # full tuple


def test_resolve_ranks_clips_explicit_ranks_with_a_warning():
    with pytest.warns(RankClippedWarning, match=r"r_1 = 5 > 4"):
        assert resolve_ranks((5, 3, 2), (4, 4, 4, 4)) == (1, 4, 3, 2, 1)


def test_resolve_ranks_does_not_warn_for_an_int_cap():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resolve_ranks(100, (2, 2, 2))


@pytest.mark.parametrize("ranks, exc, match", [
    ((2, 2), ValueError, "must hold 3 internal ranks"),
    ((2, 0, 2), ValueError, r"ranks\[1\] must be >= 1"),
    (0, ValueError, "ranks must be >= 1"),
    ((2, 2.5, 2), TypeError, r"ranks\[1\] must be an integer"),
    ((2, 2, 2, 2, 2), ValueError, "must start and end with 1"),
    ("3", TypeError, "ranks must be None, an int or a sequence"),
])
def test_resolve_ranks_rejects_bad_ranks(ranks, exc, match):
    with pytest.raises(exc, match=match):
        resolve_ranks(ranks, (4, 4, 4, 4))
