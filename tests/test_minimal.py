"""The reading version ``ttnet.minimal`` computes what the library computes (float64).

``ttnet/minimal.py`` is deliberately unvalidated and has no fast paths; these tests tie it to
the full implementations: ``ttnet.tt.svd.tt_svd`` (ranks and reconstruction),
``ttnet.nn.tt_layers.TTLinear`` (forward and backward, both algorithms) and
``ttnet.nn.tt_layers.TTConv2d`` (forward, both algorithms; the kernel).
"""

import pathlib

import numpy as np
import pytest

from ttnet import minimal
from ttnet.gradcheck import check_function
from ttnet.nn.tt_layers import TTConv2d, TTLinear
from ttnet.tt.svd import tt_svd

TOL = 1e-12


def low_rank_tensor(shape, ranks, noise, seed):
    """A random TT-tensor of the given internal ranks plus Gaussian noise of relative size noise."""
    rng = np.random.default_rng(seed)
    full_ranks = (1, *ranks, 1)
    cores = [rng.standard_normal((full_ranks[k], n, full_ranks[k + 1]))
             for k, n in enumerate(shape)]
    A = minimal.tt_full(cores)
    E = rng.standard_normal(shape)
    return A + noise * np.linalg.norm(A) / np.linalg.norm(E) * E


def rel(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300)


@pytest.mark.parametrize("shape, ranks", [((4, 5, 6, 3), (2, 3, 2)),
                                          ((3, 8, 2, 4, 5), (3, 4, 2, 3)), ((7, 9), (4,))])
@pytest.mark.parametrize("eps", [1e-3, 0.1])
def test_tt_svd_has_the_library_ranks_and_reconstruction(shape, ranks, eps):
    A = low_rank_tensor(shape, ranks, noise=1e-6, seed=len(shape))
    cores = minimal.tt_svd(A, eps)
    reference = tt_svd(A, eps=eps)
    assert tuple(G.shape for G in cores) == tuple(G.shape for G in reference.cores)
    mine = minimal.tt_full(cores)
    assert rel(mine, reference.full()) < 1e-10
    assert rel(mine, A) <= eps
    if eps == 1e-3:                       # the noise is far below eps: the planted ranks come out
        assert tuple(G.shape[2] for G in cores[:-1]) == ranks


def test_tt_svd_with_eps_zero_is_exact():
    A = np.random.default_rng(3).standard_normal((3, 4, 5))
    cores = minimal.tt_svd(A)
    assert rel(minimal.tt_full(cores), A) < TOL
    assert rel(minimal.tt_full(cores), tt_svd(A).full()) < TOL


@pytest.mark.parametrize("in_modes, out_modes, ranks", [((2, 3, 4), (3, 2, 2), (3, 4)),
                                                        ((4, 5), (2, 3), (3,)), ((6,), (5,), ())])
@pytest.mark.parametrize("algorithm", ["full", "sequential"])
def test_tt_linear_forward_and_backward_match_TTLinear(in_modes, out_modes, ranks, algorithm):
    layer = TTLinear(in_modes, out_modes, ranks, dtype=np.float64, rng=1, algorithm=algorithm)
    rng = np.random.default_rng(2)
    layer.params["bias"][...] = rng.standard_normal(layer.out_features)
    x = rng.standard_normal((5, layer.in_features))
    y, cache = minimal.tt_linear_forward(x, layer.cores, layer.params["bias"])
    assert rel(y, layer.forward(x)) < TOL
    assert rel(minimal.tt_matrix_full(layer.cores), layer.weight()) < TOL
    dy = rng.standard_normal(y.shape)
    dx, dcores, dbias = minimal.tt_linear_backward(dy, cache)
    assert rel(dx, layer.backward(dy)) < TOL
    for k, dG in enumerate(dcores):
        assert dG.shape == layer.cores[k].shape
        assert rel(dG, layer.grads[f"core{k}"]) < TOL, f"core {k}"
    assert rel(dbias, layer.grads["bias"]) < TOL


def test_tt_linear_backward_is_the_gradient():
    """A finite-difference check of the reading version itself (not only agreement)."""
    layer = TTLinear((2, 3), (3, 2), 2, dtype=np.float64, rng=4, bias=False)
    x = np.random.default_rng(5).standard_normal((3, 6))

    def forward(x, *cores):
        return minimal.tt_linear_forward(x, list(cores))

    def backward(dy, cache):
        dx, dcores, _ = minimal.tt_linear_backward(dy, cache)
        return (dx, *dcores)

    inputs = {"x": x, **{f"core{k}": G.copy() for k, G in enumerate(layer.cores)}}
    result = check_function(forward, inputs, backward, rng=5)
    assert result.passed(1e-7), result


@pytest.mark.parametrize("in_modes, out_modes, ranks, l, stride, padding, hw",
                         [((2, 2), (3, 2), (3, 2), 3, 1, 1, (6, 5)),
                          ((2, 3, 2), (2, 2, 2), (4, 3, 2), 3, 2, 0, (7, 8)),
                          ((4,), (3,), (2,), 1, 1, 0, (3, 4))])
@pytest.mark.parametrize("algorithm", ["full", "sequential"])
def test_tt_conv_forward_matches_TTConv2d(in_modes, out_modes, ranks, l, stride, padding, hw,
                                          algorithm):
    layer = TTConv2d(in_modes, out_modes, ranks, l, stride=stride, padding=padding, bias=False,
                     algorithm=algorithm, dtype=np.float64, rng=6)
    x = np.random.default_rng(7).standard_normal((2, layer.in_channels, *hw))
    y = layer.forward(x)
    assert rel(minimal.tt_conv_kernel(layer.cores), layer.weight()) < TOL
    assert rel(minimal.tt_conv_forward(x, layer.cores, stride, padding), y) < TOL
    assert rel(minimal.tt_conv_forward_dense(x, layer.cores, stride, padding), y) < TOL


def test_the_reading_version_stays_short_and_says_what_it_is():
    source = pathlib.Path(minimal.__file__).read_text(encoding="utf-8")
    assert len(source.splitlines()) <= 250, "the reading version should fit on one screen or two"
    doc = minimal.__doc__
    assert "deliberately unvalidated" in doc
    for module in ("ttnet.tt.svd", "ttnet.nn.tt_functional", "ttnet.nn.tt_layers"):
        assert module in doc, module
