"""Mode bookkeeping: balanced factorisations, theoretical maximal TT-ranks, rank arguments.

A TT format needs the sizes of a tensor's modes (or a matrix's row and column
modes) and one rank per bond between neighbouring cores. This module turns the
user's choices into validated tuples.
"""

from __future__ import annotations

import bisect
import math
import sys
import warnings
from typing import Any, Sequence

from .._checks import check_int, check_int_sequence


class RankClippedWarning(UserWarning):
    """A requested TT-rank was above its theoretical maximum and was lowered to it."""


def _user_stacklevel() -> int:
    """``stacklevel`` that attributes a warning to the first caller outside ttnet."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith("ttnet."):
        level += 1
        frame = frame.f_back
    return level


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


def max_ranks(modes: Sequence[int]) -> tuple[int, ...]:
    """Theoretical maximal TT-ranks of a tensor with the given mode sizes.

    The k-th TT-rank is the rank of the k-th unfolding, a matrix of size
    ``(n_1 … n_k) × (n_{k+1} … n_d)``, so it can never exceed
    ``min(n_1 … n_k, n_{k+1} … n_d)`` (Oseledets 2011, Theorem 2.1).

    Parameters
    ----------
    modes : sequence of int
        Mode sizes ``(n_1, …, n_d)``, each >= 1. For a TT-matrix pass the
        products ``m_k · n_k``.

    Returns
    -------
    tuple of d + 1 ints ``(1, R_1, …, R_{d-1}, 1)`` (same layout as ``TTTensor.ranks``).
    """
    modes = check_int_sequence(modes, "modes", minimum=1)
    total = math.prod(modes)
    out = [1]
    left = 1
    for n_k in modes[:-1]:
        left *= n_k
        out.append(min(left, total // left))
    out.append(1)
    return tuple(out)


def resolve_ranks(ranks: Any, modes: Sequence[int], name: str = "ranks") -> tuple[int, ...]:
    """Turn a rank argument into the full rank tuple ``(1, r_1, …, r_{d-1}, 1)``.

    Parameters
    ----------
    ranks : int, sequence of int or None
        ``None``: the theoretical maximum at every bond. An int ``r``: every
        internal rank is ``min(r, maximum)`` -- a cap, lowered silently where a
        bond cannot hold it. A sequence: either the ``d - 1`` internal ranks or
        the full ``d + 1`` tuple with 1 at both ends; an entry above the
        theoretical maximum is lowered to it with a :class:`RankClippedWarning`.
    modes : sequence of int
        Mode sizes (for TT-matrices, the products ``m_k · n_k``).
    name : str
        Argument name for error messages.

    Raises
    ------
    TypeError, ValueError
        On a non-integer rank, a rank < 1, the wrong number of ranks, or a full
        tuple whose end entries are not 1.
    """
    d = len(modes)
    upper = max_ranks(modes)
    if ranks is None:
        return upper
    if not isinstance(ranks, (Sequence,)) or isinstance(ranks, (str, bytes)):
        try:
            r = check_int(ranks, name, minimum=1)
        except TypeError:
            raise TypeError(
                f"{name} must be None, an int or a sequence of ints, got {ranks!r}") from None
        return (1,) + tuple(min(r, u) for u in upper[1:-1]) + (1,)
    values = check_int_sequence(ranks, name, minimum=1, allow_empty=True)
    if len(values) == d + 1:
        if values[0] != 1 or values[-1] != 1:
            raise ValueError(
                f"{name} given as a full tuple of {d + 1} ranks must start and end with 1, "
                f"got {values}")
        internal = values[1:-1]
    elif len(values) == d - 1:
        internal = values
    else:
        raise ValueError(
            f"{name} must hold {d - 1} internal ranks (or the full tuple of {d + 1} with 1 at "
            f"both ends) for {d} modes {tuple(modes)}, got {len(values)}: {values}")
    too_big = [(k + 1, r, u) for k, (r, u) in enumerate(zip(internal, upper[1:-1])) if r > u]
    if too_big:
        detail = ", ".join(f"r_{k} = {r} > {u}" for k, r, u in too_big)
        warnings.warn(
            f"{name}: requested rank above the theoretical maximum {upper} for modes "
            f"{tuple(modes)} ({detail}); clipped to the maximum",
            RankClippedWarning, stacklevel=_user_stacklevel())
        internal = tuple(min(r, u) for r, u in zip(internal, upper[1:-1]))
    return (1,) + tuple(internal) + (1,)
