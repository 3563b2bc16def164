"""tt/modes.py: factorize, and the rank names that moved to tt/ranks.py still importing from here."""

import itertools
import math

import pytest
from hypothesis import given, strategies as st

from ttnet.tt import factorize


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


def _brute_force_by_assignment(primes, d):
    """Most balanced factorisation by trying every assignment of the prime factors to d factors."""
    best = None
    for bins in itertools.product(range(d), repeat=len(primes)):
        factors = [1] * d
        for p, b in zip(primes, bins):
            factors[b] *= p
        key = sorted(factors, reverse=True)
        if best is None or key < best:
            best = key
    return tuple(sorted(best))


@pytest.mark.parametrize("n, d, expected", [
    (2**61 - 1, 2, (1, 2**61 - 1)),            # a Mersenne prime: no trial division to sqrt(n)
    (2**60, 60, (2,) * 60),                    # as many factors as primes
    (2**60, 4, (2**15,) * 4),
    (2**64, 7, (512,) * 6 + (1024,)),
    (12, 3000, (1,) * 2997 + (2, 2, 3)),        # more factors than primes: padded with 1s
    (1048583 * 3, 2, (3, 1048583)),            # a prime factor above the trial-division bound
    (2**40 - 87, 2, (1, 2**40 - 87)),          # a prime just below 2**40
])
def test_factorize_large_and_extreme_cases(n, d, expected):
    assert factorize(n, d) == expected


@pytest.mark.parametrize("primes, d", [
    ((3, 5, 17, 257, 641, 65537, 6700417), 3),   # 2**64 - 1
    ((2, 2, 2, 3, 3, 5, 7, 11, 13), 3),
    ((2, 3, 5, 7, 11, 13, 17, 19), 4),
    ((2, 2, 2, 2, 3, 3, 3, 5), 4),
    ((7, 7, 7, 1048589), 2),
])
def test_factorize_matches_an_exhaustive_assignment(primes, d):
    assert factorize(math.prod(primes), d) == _brute_force_by_assignment(primes, d)


@given(exponents=st.lists(st.integers(0, 4), min_size=4, max_size=4), d=st.integers(2, 4))
def test_factorize_matches_an_exhaustive_assignment_property(exponents, d):
    primes = [p for p, e in zip((2, 3, 5, 7), exponents) for _ in range(e)][:7]
    assert factorize(math.prod(primes), d) == _brute_force_by_assignment(primes, d)


def test_factorize_falls_back_to_the_greedy_split_with_its_guarantee(monkeypatch):
    from ttnet.tt import modes

    n, d = 963_761_198_400, 12           # 6720 divisors into 12 factors: beyond the search budget
    greedy = factorize(n, d)
    assert len(greedy) == d and math.prod(greedy) == n and list(greedy) == sorted(greedy)
    monkeypatch.setattr(modes, "_SEARCH_BUDGET", 10**8)
    exact = factorize(n, d)
    assert math.prod(exact) == n and sorted(exact, reverse=True) <= sorted(greedy, reverse=True)
    assert math.log(greedy[-1]) <= 4 / 3 * math.log(exact[-1])  # the LPT bound on the largest factor


@pytest.mark.parametrize("args, exc, match", [
    ((0, 2), ValueError, "n must be >= 1"),
    ((8, 0), ValueError, "d must be >= 1"),
    ((8.0, 2), TypeError, "n must be an integer"),
    ((8, True), TypeError, "d must be an integer"),
    ((2**64 + 1, 2), ValueError, r"n must be <= 2\*\*64"),
    ((12, 10**6), ValueError, "d must be <= 10,000"),
    ((1048583 * 1048589, 2), ValueError, "n has the factor 1099532599387, a product of two or more primes"),
])
def test_factorize_rejects_bad_input(args, exc, match):
    with pytest.raises(exc, match=match):
        factorize(*args)


@pytest.mark.parametrize("name", ["resolve_ranks", "max_ranks", "RankClippedWarning"])
def test_rank_names_moved_to_ranks_still_import_from_modes_with_a_warning(name):
    from ttnet.tt import modes, ranks
    with pytest.warns(DeprecationWarning, match=f"moved to ttnet.tt.ranks.{name}"):
        old = getattr(modes, name)
    assert old is getattr(ranks, name)
    with pytest.raises(AttributeError):
        modes.no_such_name  # noqa: B018
