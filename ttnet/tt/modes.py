"""Mode sizes: :func:`factorize`, the balanced factorisation of a size into d modes.

A TT format needs the sizes of a tensor's modes (or a matrix's row and column
modes). The ranks between the cores are handled in :mod:`ttnet.tt.ranks`;
``max_ranks``, ``resolve_ranks`` and ``RankClippedWarning`` still import from
here for one release, with a ``DeprecationWarning``.
"""

from __future__ import annotations

import bisect
import math
import warnings
from typing import Any, Sequence

from .._checks import check_int


#: Largest ``n`` that :func:`factorize` accepts (far above any layer size).
FACTORIZE_MAX_N = 2**64
#: Largest ``d`` that :func:`factorize` accepts (a TT with more cores is not a sensible request).
FACTORIZE_MAX_D = 10_000
# Trial division runs up to this bound; every n < _TRIAL_LIMIT**2 = 2**40 is factored completely.
_TRIAL_LIMIT = 2**20
# Largest number of steps of the exact balanced-factorisation search (a few hundredths of a second).
_SEARCH_BUDGET = 50_000
# Numbers with more divisors than this skip the exact search (listing the divisors alone is costly).
_MAX_DIVISORS = 50_000


def factorize(n: int, d: int) -> tuple[int, ...]:
    """Split ``n`` into ``d`` integer factors that are as equal as possible.

    Among all ordered factorisations ``n = f_1 · … · f_d`` with
    ``f_1 <= … <= f_d``, returns the one whose largest factor is smallest
    (ties broken by the second largest, and so on). This is how a layer size is
    turned into TT modes, e.g. ``factorize(8192, 4) == (8, 8, 8, 16)`` and
    ``factorize(1536, 4) == (4, 6, 8, 8)``, the modes used by Novikov et al.
    (2015) and Garipov et al. (2016). A prime ``n`` gives ``(1, …, 1, n)``, and a
    ``d`` larger than the number of prime factors of ``n`` (with multiplicity)
    pads with 1s: ``factorize(12, 5) == (1, 1, 2, 2, 3)``.

    Algorithm and cost (bounded for every accepted input):

    1. Prime factorisation: a deterministic Miller–Rabin test first (so a prime
       ``n`` such as ``2**61 - 1`` returns at once), then trial division by 2, 3
       and the numbers ``6k ± 1`` up to ``min(sqrt(n), 2**20)``; a cofactor left
       over is prime if it is below ``2**40`` or passes Miller–Rabin. At most
       about 350,000 divisions.
    2. If ``d`` is at least the number K of prime factors, every prime is its
       own factor (this is the most balanced split). Otherwise a memoised
       search over the divisors of ``n`` finds the smallest possible largest
       factor, fixes it and repeats on the rest (see
       ``_exact_balanced_factorization``). It takes at most 50,000 steps. If
       that budget runs out, or ``n`` has more than 50,000 divisors, the greedy
       split "each prime, largest first, joins the smallest factor so far" is
       returned instead, whose largest factor is at most ``L**(4/3)`` for the
       optimal largest factor ``L`` (Graham's bound for this LPT rule, applied
       to the logarithms). This happens only for numbers with thousands of
       divisors split into many factors (e.g. 963,761,198,400 into 12), far
       from layer sizes: every ``n <= 10**8`` with 200 or more divisors was
       checked to be split exactly for every d.

    Parameters
    ----------
    n : int
        The number to factorise, ``1 <= n <= 2**64``.
    d : int
        The number of factors, ``1 <= d <= 10,000``.

    Returns
    -------
    tuple of d ints, non-decreasing, with product ``n``.

    Raises
    ------
    TypeError
        If ``n`` or ``d`` is not an integer.
    ValueError
        If ``n`` or ``d`` is out of range, or if ``n >= 2**40`` has two or more
        prime factors above ``2**20`` (they cannot be separated in bounded time;
        pass the modes explicitly).
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    if n > FACTORIZE_MAX_N:
        raise ValueError(f"n must be <= 2**64 (factorize splits layer sizes), got {n}")
    if d > FACTORIZE_MAX_D:
        raise ValueError(f"d must be <= {FACTORIZE_MAX_D:,} (the number of TT modes), got {d}")
    primes = _prime_factors(n)
    if len(primes) <= d:
        return (1,) * (d - len(primes)) + tuple(primes)
    n_divisors = math.prod(primes.count(p) + 1 for p in set(primes))
    best = None
    if n_divisors <= _MAX_DIVISORS:
        best = _exact_balanced_factorization(n, d, _divisors(primes))
    return best if best is not None else _greedy_balanced_factorization(primes, d)


def _is_probable_prime(n: int) -> bool:
    """Miller–Rabin with the first 12 primes as bases: exact for n < 3.3e24 (so for n <= 2**64)."""
    bases = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)
    if n < 2:
        return False
    for p in bases:
        if n % p == 0:
            return n == p
    s, q = 0, n - 1
    while q % 2 == 0:
        s, q = s + 1, q // 2
    for a in bases:
        x = pow(a, q, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime_factors(n: int) -> list[int]:
    """Prime factors of ``1 <= n <= 2**64`` with multiplicity, ascending (see :func:`factorize`)."""
    if n > 1 and _is_probable_prime(n):
        return [n]
    factors = []
    for p in (2, 3):
        while n % p == 0:
            factors.append(p)
            n //= p
    p = 5
    while p <= _TRIAL_LIMIT and p * p <= n:
        for q in (p, p + 2):  # 6k - 1 and 6k + 1
            while n % q == 0:
                factors.append(q)
                n //= q
        p += 6
    if n > 1:
        if n >= _TRIAL_LIMIT**2 and not _is_probable_prime(n):
            raise ValueError(
                f"n has the factor {n}, a product of two or more primes above {_TRIAL_LIMIT:,} "
                f"that factorize does not split (it handles every n < 2**40); pass the modes "
                f"explicitly instead")
        factors.append(n)
    return factors


def _divisors(primes: Sequence[int]) -> list[int]:
    """All divisors of the product of ``primes`` (with multiplicity), ascending."""
    divisors = [1]
    for p in sorted(set(primes)):
        power, powers = 1, []
        for _ in range(primes.count(p)):
            power *= p
            powers.append(power)
        divisors += [x * q for x in divisors for q in powers]
    return sorted(divisors)


def _integer_root(m: int, k: int) -> int:
    """The largest integer x with x**k <= m (m >= 1, k >= 1)."""
    x = int(round(m ** (1.0 / k)))
    while x**k > m:
        x -= 1
    while (x + 1) ** k <= m:
        x += 1
    return x


def _exact_balanced_factorization(n: int, d: int, divisors: list[int]) -> tuple[int, ...] | None:
    """Most balanced non-decreasing d-factorisation of n, or None if the search budget runs out.

    Let ``L(m, k)`` be the smallest possible largest factor of a k-factorisation
    of the divisor m. Choosing the largest factor f first gives the recursion

        L(m, 1) = m,    L(m, k) = min over divisors f of m of max(f, L(m / f, k - 1)),

    where only ``m**(1/k) <= f < (best so far)`` can improve the minimum. The
    most balanced factorisation F(m, k) (factors sorted in decreasing order
    lexicographically smallest) has largest factor ``L = L(m, k)``, and the
    rest is F(m / L, k - 1): any factorisation of m / L is a candidate for the
    rest, and the best of them has largest factor ``<= L`` because the optimum
    of (m, k) contains one. Both are memoised on (m, k).
    """
    memo: dict[tuple[int, int], int] = {}
    budget = [_SEARCH_BUDGET]

    def smallest_largest_factor(m: int, k: int) -> int:
        if k == 1 or m == 1:
            return m
        key = (m, k)
        if key in memo:
            return memo[key]
        best = m  # f = m and 1s for the rest
        root = _integer_root(m, k)
        j = bisect.bisect_left(divisors, root if root**k == m else root + 1)  # f**k >= m
        while j < len(divisors) and divisors[j] < best:
            f = divisors[j]
            j += 1
            budget[0] -= 1
            if budget[0] < 0:
                raise _BudgetExhausted
            if m % f == 0:
                best = min(best, max(f, smallest_largest_factor(m // f, k - 1)))
        memo[key] = best
        return best

    try:
        factors, m = [], n
        for k in range(d, 0, -1):
            largest = smallest_largest_factor(m, k)
            factors.append(largest)
            m //= largest
    except _BudgetExhausted:
        return None
    return tuple(factors[::-1])


class _BudgetExhausted(Exception):
    """The exact search of :func:`_exact_balanced_factorization` used up its budget."""


def _greedy_balanced_factorization(primes: Sequence[int], d: int) -> tuple[int, ...]:
    """Each prime, largest first, joins the currently smallest of d factors (LPT scheduling)."""
    factors = [1] * d
    for p in sorted(primes, reverse=True):
        k = factors.index(min(factors))
        factors[k] *= p
    return tuple(sorted(factors))


_MOVED_TO_RANKS = ("RankClippedWarning", "max_ranks", "resolve_ranks")


def __getattr__(name: str) -> object:
    """The rank names that moved to :mod:`ttnet.tt.ranks`, with a DeprecationWarning."""
    if name in _MOVED_TO_RANKS:
        warnings.warn(f"ttnet.tt.modes.{name} moved to ttnet.tt.ranks.{name}; the old place will "
                      f"be removed in the next release", DeprecationWarning, stacklevel=2)
        from . import ranks
        return getattr(ranks, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
