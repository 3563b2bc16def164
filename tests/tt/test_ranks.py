"""The rank vocabulary: the one parser ``internal_ranks``, exact ``ranks``, a cap ``max_rank``."""

import warnings

import numpy as np
import pytest

from ttnet.nn import Conv2d, Linear, NaiveTTConv2d, TTConv2d, TTLinear
from ttnet.ops.kernel_layouts import conv_kernel_to_naive_tt, conv_kernel_to_tt
from ttnet.tt import RankClippedWarning, TTMatrix, TTTensor
from ttnet.tt import max_ranks
from ttnet.tt.ranks import exact_ranks, internal_ranks, renamed_cap, resolve_ranks


# ---------------------------------------------------------------- the one parser
def test_internal_ranks_forms():
    assert internal_ranks(3, 2) == (3, 3)                       # one int for every bond
    assert internal_ranks((4, 5), 2) == (4, 5)                  # the internal ranks
    assert internal_ranks((1, 4, 5, 1), 2) == (4, 5)            # the full tuple, as X.ranks
    assert internal_ranks(np.array([4, 5]), 2) == (4, 5)
    assert internal_ranks(7, 0) == () and internal_ranks((), 0) == () \
        and internal_ranks((1, 1), 0) == ()                     # one core: no bond


@pytest.mark.parametrize("ranks, exc, match", [
    ((2, 2), ValueError, r"fc_ranks\[1\] must have 3 entries \(the internal ranks\), or 5"),
    ((2, 2, 2, 2, 2), ValueError, r"fc_ranks\[1\] given as the full tuple of 5 ranks must start"),
    (0, ValueError, r"fc_ranks\[1\] must be >= 1, got 0"),
    ((2, 0, 2), ValueError, r"fc_ranks\[1\]\[1\] must be >= 1"),
    (2.5, TypeError, r"fc_ranks\[1\] must be an int or a sequence of 3 ints, got 2.5"),
    ("3", TypeError, r"fc_ranks\[1\] must be an int or a sequence of 3 ints, got '3'"),
    (True, TypeError, r"fc_ranks\[1\] must be an int or a sequence"),
])
def test_internal_ranks_errors_name_the_argument(ranks, exc, match):
    with pytest.raises(exc, match=match):
        internal_ranks(ranks, 3, "fc_ranks[1]")


def test_layers_take_their_own_ranks_back():
    lin = TTLinear((2, 3, 4), (3, 2, 2), ranks=(5, 6), rng=0)
    assert TTLinear((2, 3, 4), (3, 2, 2), ranks=lin.ranks, rng=0).ranks == lin.ranks == (1, 5, 6, 1)
    conv = TTConv2d((2, 4), (4, 2), ranks=(3, 7), kernel_size=3, rng=0)
    assert TTConv2d((2, 4), (4, 2), conv.ranks, 3, rng=0).ranks == (1, 3, 7, 1)


# ---------------------------------------------------------------- random: exact ranks or a cap
def test_random_ranks_are_exact_and_max_rank_is_a_cap():
    assert TTTensor.random((4, 5, 6), ranks=(3, 2), rng=0).ranks == (1, 3, 2, 1)
    assert TTTensor.random((2, 2, 2), max_rank=50, rng=0).ranks == (1, 2, 2, 1)
    assert TTTensor.random((2, 2, 2), rng=0).ranks == (1, 2, 2, 1)   # neither: the maxima
    W = TTMatrix.random((4, 6, 8, 8), (8, 8, 8, 16), max_rank=40, rng=0)
    assert W.ranks == (1, 32, 40, 40, 1)
    # the same random numbers as exact ranks equal to the capped ones
    a = TTTensor.random((3, 4, 5), max_rank=4, rng=1).full()
    b = TTTensor.random((3, 4, 5), ranks=(3, 4), rng=1).full()
    assert np.array_equal(a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TTTensor.random((2, 2, 2), max_rank=50, rng=0)      # an int cap is silent


def test_random_max_rank_per_bond_above_the_maximum_warns():
    with pytest.warns(RankClippedWarning, match=r"max_rank: .*r_1 = 9 > 2"):
        assert TTTensor.random((2, 3, 4), max_rank=(9, 3), rng=0).ranks == (1, 2, 3, 1)


@pytest.mark.parametrize("ranks", [50, (50,), (1, 50, 1)])
def test_random_ranks_above_the_maximum_are_deprecated_and_name_the_bond(ranks):
    with pytest.warns(DeprecationWarning) as record:
        X = TTTensor.random((2, 2), ranks=ranks, rng=0)
    assert X.ranks == (1, 2, 1)
    message = str(record[0].message)
    for part in (f"ranks={ranks!r}", "bond 1 (between cores[0] and cores[1]) holds at most 2, "
                 "got 50", f"max_rank={ranks!r}", "raises ValueError"):
        assert part in message
    assert record[0].filename == __file__


def test_random_rejects_ranks_and_max_rank_together():
    with pytest.raises(TypeError, match="ranks .exact. or max_rank .a cap., not both"):
        TTTensor.random((3, 4), ranks=2, max_rank=2)
    with pytest.raises(TypeError, match="not both"):
        TTMatrix.random((2, 2), (2, 2), 2, max_rank=2)


def test_exact_ranks_is_quiet_within_the_maximum():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert exact_ranks((2, 3), (2, 3, 4)) == (1, 2, 3, 1)


# ---------------------------------------------------------------- caps: max_rank (old name ranks=)
def _compressions(rng):
    linear = Linear(24, 12, dtype=np.float64, rng=rng)
    conv = Conv2d(8, 12, 3, dtype=np.float64, rng=rng)
    K = conv.params["weight"]
    return {
        "TTLinear.from_linear": lambda **kw: TTLinear.from_linear(linear, (2, 3, 4), (2, 3, 2),
                                                                  **kw),
        "TTConv2d.from_conv": lambda **kw: TTConv2d.from_conv(conv, (2, 4), (3, 4), **kw),
        "NaiveTTConv2d.from_conv": lambda **kw: NaiveTTConv2d.from_conv(conv, **kw),
        "conv_kernel_to_tt": lambda **kw: conv_kernel_to_tt(K, (2, 4), (3, 4), **kw),
        "conv_kernel_to_naive_tt": lambda **kw: conv_kernel_to_naive_tt(K, **kw),
    }


@pytest.mark.parametrize("where", ["TTLinear.from_linear", "TTConv2d.from_conv",
                                   "NaiveTTConv2d.from_conv", "conv_kernel_to_tt",
                                   "conv_kernel_to_naive_tt"])
def test_compressions_take_max_rank_and_the_old_ranks_keyword_with_a_warning(where, rng):
    compress = _compressions(rng)[where]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        new = compress(max_rank=2)
    assert max(new.ranks) == 2
    with pytest.warns(DeprecationWarning, match=rf"{where}\(ranks=...\) is deprecated: .* pass "
                      r"max_rank=2") as record:
        old = compress(ranks=2)
    assert record[0].filename == __file__
    assert old.ranks == new.ranks
    assert all(np.array_equal(a, b) for a, b in zip(old.cores, new.cores))
    with pytest.raises(TypeError, match=rf"{where}: got max_rank=2 and ranks=3"):
        compress(max_rank=2, ranks=3)


def test_renamed_cap_passes_max_rank_through_quietly():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert renamed_cap(4, None, "f") == 4
        assert renamed_cap(None, None, "f") is None


def test_models_parse_each_layers_ranks_with_the_one_parser():
    from ttnet.models import check_ranks
    conv, fc = check_ranks("tt-conv-tt-fc", [(1, 2, 3, 4, 1), 5, 5, 5, 5], [(5, 6, 7), (1, 3, 3, 3, 1)])
    assert conv == [(2, 3, 4)] + [(5, 5, 5)] * 4 and fc == [(5, 6, 7), (3, 3, 3)]
    with pytest.raises(ValueError, match=r"--fc-ranks\[1\] must have 3 entries"):
        check_ranks("conv-tt-fc", None, [4, (4, 4)], fc_name="--fc-ranks")


# ---------------------------------------------------------------- max_ranks and caps (resolve_ranks)
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
    ((2, 2), ValueError, "max_rank must have 3 entries"),
    ((2, 0, 2), ValueError, r"max_rank\[1\] must be >= 1"),
    (0, ValueError, "max_rank must be >= 1"),
    ((2, 2.5, 2), TypeError, r"max_rank\[1\] must be an integer"),
    ((2, 2, 2, 2, 2), ValueError, "must start and end with 1"),
    ("3", TypeError, "max_rank must be an int or a sequence"),
])
def test_resolve_ranks_rejects_bad_ranks(ranks, exc, match):
    with pytest.raises(exc, match=match):
        resolve_ranks(ranks, (4, 4, 4, 4))
