"""Pure functions for the TT layers: ``*_forward(...) -> (out, cache)``, ``*_backward(dout, cache)``.

Three layers, each with a hand-written reverse mode:

* **TT-FC** (Novikov et al. 2015): ``y = x Wᵀ + b`` with W a TT-matrix whose
  row modes are the output modes ``m_k`` and column modes the input modes
  ``n_k``; ``cores[k-1]`` is G_k, ``(r_{k-1}, m_k, n_k, r_k)``, k = 1..d.
* **TT-conv** (Garipov et al. 2016): the kernel ``K (S, C, l, l)`` is the
  TT-matrix of shape ``S × (l² C)`` with ``d + 1`` cores: ``cores[0]`` is G_0,
  ``(1, 1, l², r_0)`` (the spatial part), and ``cores[k]`` is G_k,
  ``(r_{k-1}, s_k, c_k, r_k)`` (see :mod:`ttnet.ops.kernel_layouts`).
* **Naive TT-conv**: the kernel as the TT-tensor of shape ``(l, l, C, S)``,
  four cores ``(r_{k-1}, n_k, r_k)``.

Formulas use the papers' symbols; ``cores[k]`` is numbered by position from 0,
and the table that maps positions to symbols is in docs/notation.md §2. A
``ranks`` argument of the cost models is the full tuple ``layer.ranks``.

Two algorithms evaluate every TT layer, and TT-conv has a third (identical
results to round-off):

``"full"``
    Build the dense weight from the cores (a chain of small matrix products,
    :func:`ttnet.tt.cores.tt_full_forward`), apply the dense layer, and in
    the backward pass turn the dense weight gradient into core gradients with
    the reverse mode of that chain.
``"sequential"``
    Never form the weight: contract the input with one core at a time
    (:func:`ttnet.ops.contract.tt_step_forward`); the backward pass runs the
    same steps in reverse (:func:`ttnet.ops.contract.tt_step_backward`), so it
    costs about twice the forward -- not the O(d²) recomputation of the
    original MATLAB code. The batch (and in TT-conv the pixels) is carried
    last, so that each step is a few large matrix products.
``"separable"`` (TT-conv only)
    The sequential algorithm's spatial step, then the channel cores' matrix
    built and applied in one product.

Each algorithm has its own pair of functions -- :func:`tt_linear_full_forward` /
:func:`tt_linear_full_backward` beside :func:`tt_linear_sequential_forward` /
:func:`tt_linear_sequential_backward`, the same for TT-conv plus its separable pair -- and the
layers call the pair they chose by name. :func:`tt_linear_forward` and
:func:`tt_conv2d_forward` (with their ``*_backward``) take the algorithm as an
argument and only dispatch to those.

:func:`tt_linear_cost` and :func:`tt_conv2d_cost` give, for each algorithm, the
floating-point operations, the bytes cached between forward and backward, the
memory traffic and the time these predict (:func:`estimated_seconds`); the
layers' ``algorithm="auto"`` runs the one with the smallest predicted time
(:func:`fastest_algorithm`).

TT-conv has a third algorithm, ``"separable"``: the spatial step of the
sequential algorithm, then the channel cores' ``S × (r_0 C)`` matrix built and
applied in one product (:func:`tt_conv2d_separable_forward`).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .._checks import as_float_array, check_int, describe
from ..blas import OrderedSum, map_on_threads
from ..ops.contract import tt_step_backward, tt_step_forward
from ..ops.im2col import conv_output_shape, window_params
from ..ops.kernel_layouts import (kernel_to_matrix, kernel_to_naive_tensor, matrix_to_kernel,
                                  naive_tensor_to_kernel)
from ..ops.spatial_step import spatial_step_backward, spatial_step_forward, z0_chunks
from ..ops.winograd import winograd_tile_count
from ..ops.workspace import check_workspace, scratch_prefix
from ..tt.cores import (check_cores, core_steps_backward, core_steps_forward, tt_full_backward,
                        tt_full_forward, tt_matrix_full_backward, tt_matrix_full_forward)
from .functional import (Cache, check_bias, check_dout, check_same_dtype, conv2d_backward,
                         conv2d_forward, conv_algorithm, linear_backward, linear_forward)

#: The algorithms of every TT-matrix layer (TT-FC and TT-conv).
ALGORITHMS = ("full", "sequential")
#: TT-conv has a third: the spatial step, then the channel cores' matrix in one product.
CONV_ALGORITHMS = ALGORITHMS + ("separable",)


def check_algorithm(algorithm: Any, allowed: Sequence[str] = ALGORITHMS) -> str:
    """Validate an algorithm name (one of ``allowed``)."""
    if not isinstance(algorithm, str) or algorithm not in allowed:
        raise ValueError(f"algorithm must be one of {', '.join(map(repr, allowed))}, "
                         f"got {algorithm!r}")
    return algorithm


def _cached_algorithm(cache: Any, allowed: Sequence[str] = ALGORITHMS) -> str:
    """The algorithm a TT forward recorded in its cache (for the dispatching backward)."""
    if not isinstance(cache, dict) or cache.get("algorithm") not in allowed:
        raise TypeError("cache must be the dict returned by the matching *_forward function")
    return cache["algorithm"]


# ---------------------------------------------------------------- the core steps
#: Products whose inner (summed) dimension is at least this run at the matrix-product rate
#: of the time model; narrower ones are memory-bound (their traffic dominates).
WIDE_PRODUCT = 64


def _wide(flops: int, inner: int) -> int:
    """``flops`` if a product with this inner dimension counts as wide, else 0."""
    return flops if inner >= WIDE_PRODUCT else 0


def _steps_cost(in_modes: Sequence[int], out_modes: Sequence[int], ranks: Sequence[int],
                batch: int, trailing: int, itemsize: int) -> tuple[int, int, int, int]:
    """Flops (forward + backward), the part of them in wide products, cached bytes and
    memory traffic of the core steps.

    The step with core G_k (k = 1..d) costs ``2 p_k m_k r_k r_{k-1} n_k q_k``
    flops forward and twice that backward, with ``p_k = m_1 ⋯ m_{k-1}``
    and ``q_k = n_{k+1} ⋯ n_d · batch · trailing`` (the batch is carried last);
    its flops count as wide when its inner dimension ``r_{k-1} n_k`` is at least
    :data:`WIDE_PRODUCT`. It caches its input of ``p_k r_{k-1} n_k q_k`` numbers,
    and forward and backward together pass over its input and output about three
    times each (the traffic). ``ranks`` are the d + 1 bonds
    ``(r_0, r_1, …, r_d)`` of the cores G_1..G_d, so ``ranks[k] = r_k``: a TT-FC
    layer's ``ranks`` (``r_0 = r_d = 1``) or a TT-conv layer's ``ranks[1:]``
    (``r_0`` the spatial bond, ``r_d = 1``).
    """
    flops, wide, nbytes, traffic = 0, 0, 0, 0
    for k in range(len(in_modes)):
        p = math.prod(out_modes[:k])
        q = math.prod(in_modes[k + 1:]) * batch * trailing
        step = 3 * 2 * p * out_modes[k] * ranks[k + 1] * ranks[k] * in_modes[k] * q
        flops += step
        wide += _wide(step, ranks[k] * in_modes[k])
        step_in = p * ranks[k] * in_modes[k] * q
        step_out = p * out_modes[k] * ranks[k + 1] * q
        nbytes += step_in * itemsize
        traffic += 3 * (step_in + step_out) * itemsize
    return flops, wide, nbytes, traffic


#: The time model's three machine constants, measured on the development machine (2 cores,
#: float32) by ``benchmarks/bench_tt_algorithms.py --fit``: the rate of wide matrix
#: products, the rate of the other arithmetic (narrow products, the TT-conv's spatial step,
#: building weights from cores), and the bandwidth of the passes over memory.
WIDE_FLOPS_PER_SECOND = 81.0e9
OTHER_FLOPS_PER_SECOND = 58.1e9
BYTES_PER_SECOND = 7.32e9


def estimated_seconds(flops: int, wide_flops: int, traffic: int,
                      rates: Sequence[float] | None = None) -> float:
    """The time model: ``wide_flops / WIDE_FLOPS_PER_SECOND + (flops − wide_flops) /
    OTHER_FLOPS_PER_SECOND + traffic / BYTES_PER_SECOND``.

    Operations alone mislead: a core step with an inner dimension of 16 does
    few operations but moves its whole input and output through memory, which
    takes longer than the operations, while a product with a wide inner
    dimension runs faster per operation (docs/tt_layers.md §4).

    ``rates``, if given, replaces the three constants by ``(wide flops/s, other
    flops/s, bytes/s)``, each positive (``inf`` drops its term); a refit compares
    its constants with the code's this way (``benchmarks/bench_tt_algorithms.py``).

    Raises
    ------
    TypeError, ValueError
        An argument that is not a non-negative int, ``wide_flops > flops``, or
        ``rates`` that are not three positive numbers.
    """
    flops = check_int(flops, "flops", minimum=0)
    wide_flops = check_int(wide_flops, "wide_flops", minimum=0)
    traffic = check_int(traffic, "traffic", minimum=0)
    if wide_flops > flops:
        raise ValueError(f"wide_flops ({wide_flops}) cannot exceed flops ({flops})")
    if rates is None:
        wide_rate, other_rate, bandwidth = (WIDE_FLOPS_PER_SECOND, OTHER_FLOPS_PER_SECOND,
                                            BYTES_PER_SECOND)
    else:
        try:
            if isinstance(rates, str):
                raise TypeError
            wide_rate, other_rate, bandwidth = (float(r) for r in rates)
        except (TypeError, ValueError):
            raise TypeError(f"rates must be three numbers (wide flops/s, other flops/s, "
                            f"bytes/s), got {describe(rates)}") from None
        if not all(r > 0 for r in (wide_rate, other_rate, bandwidth)):
            raise ValueError(f"rates must be positive, got {tuple(rates)}")
    return wide_flops / wide_rate + (flops - wide_flops) / other_rate + traffic / bandwidth


def fastest_algorithm(costs: dict[str, dict[str, Any]]) -> str:
    """The algorithm of ``costs`` (a ``*_cost`` result) with the smallest estimated time.

    This is what ``algorithm="auto"`` runs.

    Raises
    ------
    TypeError
        ``costs`` is not a non-empty dict of dicts, each with a ``"seconds"`` entry.
    """
    if (not isinstance(costs, dict) or not costs
            or not all(isinstance(c, dict) and "seconds" in c for c in costs.values())):
        raise TypeError(f"costs must be the dict a *_cost function returns (algorithm -> "
                        f"{{..., 'seconds': ...}}), got {describe(costs)}")
    return min(costs, key=lambda name: costs[name]["seconds"])


def _costs(**algorithms: tuple[int, int, int, int, int]) -> dict[str, dict[str, Any]]:
    """``{name: {"flops", "wide_flops", "spatial_flops", "bytes", "traffic", "seconds"}}``
    from ``name=(flops, wide_flops, spatial_flops, bytes, traffic)``."""
    return {name: {"flops": flops, "wide_flops": wide, "spatial_flops": spatial,
                   "bytes": nbytes, "traffic": traffic,
                   "seconds": estimated_seconds(flops, wide, traffic)}
            for name, (flops, wide, spatial, nbytes, traffic) in algorithms.items()}


# ---------------------------------------------------------------- TT-FC
def _tt_linear_inputs(x: Any, cores: Any) -> tuple[np.ndarray, list[np.ndarray]]:
    """Check the TT-FC arguments: 4-D cores that chain, x of shape (B, N) and the cores' dtype."""
    cores = check_cores(cores, core_ndim=4, finite=False)
    given = x
    x = as_float_array(x, "x", ndim=2, finite=False)
    in_modes = [c.shape[2] for c in cores]
    N = math.prod(in_modes)
    if x.shape[1] != N:
        raise ValueError(f"x has {x.shape[1]} features but the input modes {tuple(in_modes)} "
                         f"multiply to {N}")
    check_same_dtype(x, cores[0], "cores", given)
    return x, cores


def tt_linear_full_forward(x: Any, cores: Sequence[np.ndarray],
                           bias: Any = None) -> tuple[np.ndarray, Cache]:
    """TT-FC layer ``y = x Wᵀ + b`` by the "full" algorithm: build W, then one dense product.

    W is the ``(M, N)`` TT-matrix of the cores (:func:`ttnet.tt.cores.tt_matrix_full_forward`),
    then ``y = x Wᵀ + b`` (:func:`ttnet.nn.functional.linear_forward`).

    Parameters
    ----------
    x : ndarray, shape (B, N), ``N = n_1 ⋯ n_d``
    cores : list of d arrays ``(r_{k-1}, m_k, n_k, r_k)`` (rows = output modes)
    bias : ndarray, shape (M,), optional

    Returns
    -------
    y : ndarray, shape (B, M)
    cache : dict for :func:`tt_linear_full_backward`
    """
    x, cores = _tt_linear_inputs(x, cores)
    W, weight_cache = tt_matrix_full_forward(cores)
    y, linear_cache = linear_forward(x, W, bias)
    return y, {"algorithm": "full", "weight": weight_cache, "linear": linear_cache,
               "out_shape": y.shape, "dtype": y.dtype}


def tt_linear_full_backward(dout: Any, cache: Cache
                            ) -> tuple[np.ndarray, list[np.ndarray], np.ndarray | None]:
    """Gradients of :func:`tt_linear_full_forward`: ``dx = dout W``, ``dW = doutᵀ x``, then
    the core gradients from dW (the reverse of the chain).

    Returns
    -------
    dx : (B, N), dcores : list like ``cores``, dbias : (M,) or None
    """
    dout = check_dout(dout, cache)
    dx, dW, dbias = linear_backward(dout, cache["linear"])
    return dx, tt_matrix_full_backward(dW, cache["weight"]), dbias


def tt_linear_sequential_forward(x: Any, cores: Sequence[np.ndarray],
                                 bias: Any = None) -> tuple[np.ndarray, Cache]:
    """TT-FC layer ``y = x Wᵀ + b`` by the "sequential" algorithm (Novikov et al. 2015, §4).

    Read x as ``X[j_1, …, j_d, b]`` (transposed once, so that the batch comes
    last) and apply the core steps for k = 1..d, each exchanging ``n_k`` for ``m_k``:
    ``Z_k[i_1..i_k, r_k, j_{k+1}..j_d b] = Σ_{r_{k-1}, j_k} G_k[r_{k-1}, i_k, j_k, r_k]
    Z_{k-1}[i_1..i_{k-1}, r_{k-1}, j_k, j_{k+1}..j_d b]``. W is never formed. With
    the batch last, step k is ``m_1 ⋯ m_{k-1}`` matrix products with
    ``n_{k+1} ⋯ n_d · B`` columns each, not one small product per image
    (docs/tt_layers.md §4).

    Parameters
    ----------
    x : ndarray, shape (B, N), ``N = n_1 ⋯ n_d``
    cores : list of d arrays ``(r_{k-1}, m_k, n_k, r_k)`` (rows = output modes)
    bias : ndarray, shape (M,), optional

    Returns
    -------
    y : ndarray, shape (B, M)
    cache : dict for :func:`tt_linear_sequential_backward`
    """
    x, cores = _tt_linear_inputs(x, cores)
    in_modes = [c.shape[2] for c in cores]
    M = math.prod(c.shape[1] for c in cores)
    bias = check_bias(bias, M, x)
    B = x.shape[0]
    xt = np.ascontiguousarray(x.T)                                  # (N, B): the batch last
    z, inputs = core_steps_forward(xt.reshape(1, 1, in_modes[0], -1), cores, tt_step_forward)
    y = np.ascontiguousarray(z.reshape(M, B).T)
    if bias is not None:
        y += bias
    return y, {"algorithm": "sequential", "x_shape": x.shape, "cores": cores, "inputs": inputs,
               "has_bias": bias is not None, "out_shape": y.shape, "dtype": y.dtype}


def tt_linear_sequential_backward(dout: Any, cache: Cache
                                  ) -> tuple[np.ndarray, list[np.ndarray], np.ndarray | None]:
    """Gradients of :func:`tt_linear_sequential_forward`.

    The core steps in reverse order; step k returns the gradient of its input
    (which is the output gradient of step k − 1) and of its core
    (:func:`ttnet.ops.contract.tt_step_backward`).

    Returns
    -------
    dx : (B, N), dcores : list like ``cores``, dbias : (M,) or None
    """
    dout = check_dout(dout, cache)
    dbias = dout.sum(axis=0) if cache["has_bias"] else None
    dz = np.ascontiguousarray(dout.T)                               # (M, B)
    dxt, dcores = core_steps_backward(dz, cache["inputs"], cache["cores"], tt_step_backward)
    B, N = cache["x_shape"]
    return np.ascontiguousarray(dxt.reshape(N, B).T), dcores, dbias


def tt_linear_forward(x: Any, cores: Sequence[np.ndarray], bias: Any = None,
                      algorithm: str = "sequential") -> tuple[np.ndarray, Cache]:
    """TT-FC layer by the algorithm named: :func:`tt_linear_full_forward` or
    :func:`tt_linear_sequential_forward` (same arguments and results to round-off).

    Returns
    -------
    y : ndarray, shape (B, M)
    cache : dict for :func:`tt_linear_backward`
    """
    forward = {"full": tt_linear_full_forward,
               "sequential": tt_linear_sequential_forward}[check_algorithm(algorithm)]
    return forward(x, cores, bias)


def tt_linear_backward(dout: Any, cache: Cache
                       ) -> tuple[np.ndarray, list[np.ndarray], np.ndarray | None]:
    """Gradients of :func:`tt_linear_forward`, by the algorithm recorded in the cache."""
    backward = {"full": tt_linear_full_backward,
                "sequential": tt_linear_sequential_backward}[_cached_algorithm(cache)]
    return backward(dout, cache)


def tt_linear_cost(in_modes: Sequence[int], out_modes: Sequence[int], ranks: Sequence[int],
                   batch: int, itemsize: int = 4) -> dict[str, dict[str, int]]:
    """Operations and memory of one forward + backward pass of a TT-FC layer.

    With ``p_k = m_1 ⋯ m_{k-1}`` and ``q_k = n_{k+1} ⋯ n_d B`` (the batch carried
    last), the sequential forward step k costs ``2 p_k m_k r_k r_{k-1} n_k q_k``
    flops and its backward twice that (input and core gradients). The full algorithm builds W
    (``Σ_{k>=2} 2 (m_1 n_1 ⋯ m_{k-1} n_{k-1}) r_{k-1} m_k n_k r_k`` flops, and
    twice that backwards) and does three dense products of ``2 B M N`` flops
    (``x Wᵀ``, ``dout W``, ``doutᵀ x``).

    Parameters
    ----------
    in_modes, out_modes : sequences of d ints
    ranks : the full tuple ``layer.ranks`` = ``(1, r_1, …, r_{d-1}, 1)``, so ``ranks[k] = r_k``
    batch : int
    itemsize : bytes per number (4 for float32)

    Returns
    -------
    dict
        ``{"full": {…}, "sequential": {…}}``. Each entry holds ``"flops"`` (all of
        them), ``"wide_flops"`` (those in products with an inner dimension of at
        least :data:`WIDE_PRODUCT`), ``"spatial_flops"`` (those of the TT-conv's
        spatial step, for information: the time model counts them with the other
        arithmetic; 0 here), ``"bytes"`` (the memory held between forward
        and backward), ``"traffic"`` (the bytes read and written by the passes over
        intermediates) and ``"seconds"`` (the time model's prediction,
        :func:`estimated_seconds`).
    """
    d = len(in_modes)
    M, N = math.prod(out_modes), math.prod(in_modes)
    seq_flops, seq_wide, seq_bytes, seq_traffic = _steps_cost(in_modes, out_modes, ranks,
                                                              batch, 1, itemsize)
    seq_traffic += 4 * batch * (M + N) * itemsize                  # x, y, dy, dx transposed
    build, size = 0, out_modes[0] * in_modes[0] * ranks[1]
    for k in range(1, d):
        left = math.prod(m * n for m, n in zip(out_modes[:k], in_modes[:k]))
        build += 2 * left * ranks[k] * out_modes[k] * in_modes[k] * ranks[k + 1]
        size += left * out_modes[k] * in_modes[k] * ranks[k + 1]
    full_flops = 3 * build + 3 * 2 * batch * M * N
    full_bytes = (size + batch * N) * itemsize                     # chain, W and x
    # the chain writes W interleaved and the de-interleaving copy reads and writes it (3 passes);
    # the output and the input gradient read W (2); dW is written, re-interleaved (read and
    # written) and read by the chain's reverse (4)
    full_traffic = 9 * M * N * itemsize
    return _costs(full=(full_flops, _wide(3 * 2 * batch * M * N, N), 0, full_bytes, full_traffic),
                  sequential=(seq_flops, seq_wide, 0, seq_bytes, seq_traffic))


# ---------------------------------------------------------------- TT-conv
def tt_conv_kernel_forward(cores: Sequence[np.ndarray]) -> tuple[np.ndarray, Cache]:
    """The dense ``(S, C, l, l)`` kernel of TT-conv cores (the paper's scheme).

    ``K[s, c, i, j] = G_0[0, 0, i l + j, :] G_1[:, s_1, c_1, :] ⋯ G_d[:, s_d, c_d, 0]``:
    the TT-matrix ``S × (l² C)`` of the cores, whose columns are ``(i l + j) C + c``,
    reshaped by :func:`ttnet.ops.kernel_layouts.matrix_to_kernel`.
    """
    cores = check_cores(cores, core_ndim=4, finite=False)
    l = math.isqrt(cores[0].shape[2])
    Kmat, cache = tt_matrix_full_forward(cores)                      # (S, l² C)
    return matrix_to_kernel(Kmat, l), cache


def tt_conv_kernel_backward(dK: np.ndarray, cache: Cache) -> list[np.ndarray]:
    """Core gradients from the gradient of the dense kernel."""
    return tt_matrix_full_backward(kernel_to_matrix(dK), cache)


def _tt_conv2d_inputs(x: Any, cores: Any) -> tuple[np.ndarray, list[np.ndarray]]:
    """Check the TT-conv arguments: a spatial core ``(1, 1, l², r_0)`` and channel cores
    that chain, x of shape (B, C, H, W) with ``C = Π c_k`` and the cores' dtype."""
    cores = check_cores(cores, core_ndim=4, finite=False)
    l2 = cores[0].shape[2]
    if len(cores) < 2 or cores[0].shape[1] != 1 or math.isqrt(l2) ** 2 != l2:
        raise ValueError(f"TT-conv cores need a spatial core of shape (1, 1, l², r_0) followed by "
                         f"at least one channel core, got shapes {[c.shape for c in cores]}")
    given = x
    x = as_float_array(x, "x", ndim=4, finite=False)
    in_modes = [c.shape[2] for c in cores[1:]]
    C = math.prod(in_modes)
    if x.shape[1] != C:
        raise ValueError(f"x has {x.shape[1]} channels but the input modes {tuple(in_modes)} "
                         f"multiply to {C}")
    check_same_dtype(x, cores[0], "cores", given)
    return x, cores


def tt_conv2d_full_forward(x: Any, cores: Sequence[np.ndarray], bias: Any = None,
                           stride: Any = 1, padding: Any = 0,
                           workspace: dict | None = None) -> tuple[np.ndarray, Cache]:
    """TT-conv layer by the "full" algorithm: build the kernel, then the dense convolution
    (:func:`ttnet.nn.functional.conv2d_forward`: im2col, or Winograd's F(2×2, 3×3) for a 3×3
    kernel at stride 1 on 32 or more input channels and 512 or more output tiles with numba
    on: :func:`~ttnet.nn.functional.conv_algorithm`).

    Parameters
    ----------
    x : ndarray, shape (B, C, H, W), ``C = c_1 ⋯ c_d``
    cores : ``[G_0 (1, 1, l², r_0), G_1 (r_0, s_1, c_1, r_1), …, G_d (r_{d-1}, s_d, c_d, 1)]``
    bias : ndarray, shape (S,), optional
    stride, padding : int or pair
    workspace : dict, optional
        Scratch buffers of the dense convolution, reused between calls (see
        :func:`ttnet.nn.functional.conv2d_forward`).

    Returns
    -------
    y : ndarray, shape (B, S, H', W')
    cache : dict for :func:`tt_conv2d_full_backward`
    """
    x, cores = _tt_conv2d_inputs(x, cores)
    K, kernel_cache = tt_conv_kernel_forward(cores)
    y, conv_cache = conv2d_forward(x, K, bias, stride, padding, workspace=workspace)
    return y, {"algorithm": "full", "kernel": kernel_cache, "conv": conv_cache,
               "out_shape": y.shape, "dtype": y.dtype}


def tt_conv2d_full_backward(dout: Any, cache: Cache
                            ) -> tuple[np.ndarray, list[np.ndarray], np.ndarray | None]:
    """Gradients of :func:`tt_conv2d_full_forward`: the dense convolution's gradients,
    then the kernel gradient turned into core gradients (:func:`tt_conv_kernel_backward`).

    Returns
    -------
    dx : (B, C, H, W), dcores : list like ``cores``, dbias : (S,) or None
    """
    dout = check_dout(dout, cache)
    dx, dK, dbias = conv2d_backward(dout, cache["conv"])
    return dx, tt_conv_kernel_backward(dK, cache["kernel"]), dbias


def _spatial_filters(cores: Sequence[np.ndarray]) -> np.ndarray:
    """G_0 ``(1, 1, l², r_0)`` as the r_0 filters of the spatial step, ``(l, l, r_0)`` (a view)."""
    l2, r0 = cores[0].shape[2:]
    l = math.isqrt(l2)
    return cores[0].reshape(l, l, r0)


def _checked_spatial_args(x: Any, cores: Any, bias: Any, stride: Any, padding: Any):
    """The arguments of the algorithms that start with the spatial step, checked:
    ``(x, cores, bias, G_0 as filters (l, l, r_0), stride, padding, (H', W'))``."""
    x, cores = _tt_conv2d_inputs(x, cores)
    bias = check_bias(bias, math.prod(c.shape[1] for c in cores[1:]), x)
    g0 = _spatial_filters(cores)
    kernel, stride, padding = window_params(g0.shape[0], stride, padding)
    return x, cores, bias, g0, stride, padding, conv_output_shape(x.shape[2:], kernel, stride,
                                                                  padding)


def _spatial_step(x: Any, cores: Any, bias: Any, stride: Any, padding: Any):
    """Checked TT-conv arguments and the sequential algorithm's spatial step for the whole
    batch: ``(x, cores, bias, Z_0 (r_0, C, B, H', W'), stride, padding)``."""
    x, cores, bias, g0, stride, padding, _ = _checked_spatial_args(x, cores, bias, stride,
                                                                   padding)
    return x, cores, bias, spatial_step_forward(x, g0, stride, padding), stride, padding


def _spatial_step_backward(dz0: np.ndarray, cache: Cache) -> tuple[np.ndarray, np.ndarray]:
    """``(dx, dG_0)`` from the gradient of the spatial step's output (any shape with its size)."""
    x, g0 = cache["x"], _spatial_filters(cache["cores"])
    B, C, _, _ = x.shape
    Ho, Wo = cache["out_shape"][2:]
    dx, dg0 = spatial_step_backward(dz0.reshape(g0.shape[2], C, B, Ho, Wo), x, g0,
                                    cache["stride"], cache["padding"])
    return dx, dg0.reshape(cache["cores"][0].shape)


def tt_conv2d_sequential_forward(x: Any, cores: Sequence[np.ndarray], bias: Any = None,
                                 stride: Any = 1, padding: Any = 0) -> tuple[np.ndarray, Cache]:
    """TT-conv layer by the "sequential" algorithm (the order of Garipov et al. 2016, §3.2).

    1. the spatial step: convolve every input channel separately with the r_0
       filters of the spatial core,
       ``Z_0[r_0, c, b, p] = Σ_{i,j} G_0[0, 0, i l + j, r_0] X̃[b, c, p + (i, j)]``
       (:func:`ttnet.ops.spatial_step.spatial_step_forward`);
    2. contract the channel cores one by one with the core step, reading
       ``c = (c_1, …, c_d)`` and carrying the batch and pixels ``(b, p)`` along
       at the end:
       ``Z_k[s_1..s_k, r_k, c_{k+1}..c_d b p] =
       Σ_{r_{k-1}, c_k} G_k[r_{k-1}, s_k, c_k, r_k] Z_{k-1}[…]``.

    With the batch and pixels last, step k is ``s_1 ⋯ s_{k-1}`` matrix products
    of ``(s_k r_k) × (r_{k-1} c_k)`` by ``(r_{k-1} c_k) × (c_{k+1} ⋯ c_d B P)``:
    a few large products, not one small product per image (docs/tt_layers.md §4).
    The result ``(S, B, P)`` is transposed once into ``(B, S, H', W')``.

    Parameters
    ----------
    x : ndarray, shape (B, C, H, W), ``C = c_1 ⋯ c_d``
    cores : ``[G_0 (1, 1, l², r_0), G_1 (r_0, s_1, c_1, r_1), …, G_d (r_{d-1}, s_d, c_d, 1)]``
    bias : ndarray, shape (S,), optional
    stride, padding : int or pair

    Returns
    -------
    y : ndarray, shape (B, S, H', W')
    cache : dict for :func:`tt_conv2d_sequential_backward`
    """
    x, cores, bias, z0, stride, padding = _spatial_step(x, cores, bias, stride, padding)
    in_modes = [c.shape[2] for c in cores[1:]]
    r0, S = z0.shape[0], math.prod(c.shape[1] for c in cores[1:])
    B, Ho, Wo = x.shape[0], z0.shape[3], z0.shape[4]
    z, inputs = core_steps_forward(z0.reshape(1, r0, in_modes[0], -1), cores[1:],
                                   tt_step_forward)                  # (S, 1, 1, B·H'·W')
    y = np.ascontiguousarray(z.reshape(S, B, Ho, Wo).transpose(1, 0, 2, 3))
    if bias is not None:
        y += bias[:, None, None]
    cache = {"algorithm": "sequential", "cores": cores, "x": x, "inputs": inputs,
             "stride": stride, "padding": padding,
             "has_bias": bias is not None, "out_shape": y.shape, "dtype": y.dtype}
    return y, cache


def tt_conv2d_sequential_backward(dout: Any, cache: Cache
                                  ) -> tuple[np.ndarray, list[np.ndarray], np.ndarray | None]:
    """Gradients of :func:`tt_conv2d_sequential_forward`: the channel steps in reverse,
    then the spatial step's gradients ``dG_0`` and ``dx``
    (:func:`ttnet.ops.spatial_step.spatial_step_backward`).

    Returns
    -------
    dx : (B, C, H, W), dcores : list like ``cores``, dbias : (S,) or None
    """
    dout = check_dout(dout, cache)
    cores, inputs = cache["cores"], cache["inputs"]
    dbias = dout.sum(axis=(0, 2, 3)) if cache["has_bias"] else None
    dz = np.ascontiguousarray(dout.transpose(1, 0, 2, 3))              # (S, B, H', W')
    dz0, channel_grads = core_steps_backward(dz, inputs, cores[1:], tt_step_backward)
    dx, dg0 = _spatial_step_backward(dz0, cache)
    return dx, [dg0] + channel_grads, dbias


def _channel_matrix_cores(cores: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The channel cores G_1..G_d as a TT-matrix ``S × (r_0 C)``: G_1's left bond r_0
    becomes the leading part of its input mode, ``(1, s_1, r_0 c_1, r_1)``, so the
    matrix's columns are ``r_0 C + c``, the row index of the spatial step's output."""
    G1 = cores[1]
    r0, s1, c1, r1 = G1.shape
    return [G1.transpose(1, 0, 2, 3).reshape(1, s1, r0 * c1, r1)] + list(cores[2:])


def tt_conv2d_separable_forward(x: Any, cores: Sequence[np.ndarray], bias: Any = None,
                                stride: Any = 1, padding: Any = 0, *,
                                workspace: dict | None = None) -> tuple[np.ndarray, Cache]:
    """TT-conv layer by the "separable" algorithm: the spatial step, then one channel product.

    The kernel of TT-conv cores is a sum of r_0 separable convolutions,
    ``K[s, c, i, j] = Σ_{r_0} G_0[0, 0, i l + j, r_0] · W[s, r_0 C + c]``, with W the
    ``S × (r_0 C)`` matrix of the channel cores G_1..G_d (G_1's left bond read as
    part of its input mode). So:

    1. the spatial step, as in the sequential algorithm,
       ``Z_0[r_0, c, b, p] = Σ_{i,j} G_0[0, 0, i l + j, r_0] X̃[b, c, p + (i, j)]``
       (:func:`ttnet.ops.spatial_step.spatial_step_forward`);
    2. build W from the channel cores (:func:`ttnet.tt.cores.tt_matrix_full_forward`,
       ``S · r_0 C`` numbers, small) and mix the channels with a matrix product,
       ``Y[s, (b, p)] = Σ W[s, r_0 C + c] Z_0[r_0, c, (b, p)]``.

    It does ``2 B P S r_0 C`` multiply-adds in the channel product, more than the
    channel core steps of the sequential algorithm at low ranks, but with an inner
    dimension of ``r_0 C`` that runs at full BLAS speed, where the core steps are
    memory-bound (docs/tt_layers.md §4).

    Chunk by chunk. Z_0 has r_0 times as many numbers as ``x`` (at unit stride and
    "same" padding); written for the whole batch, it would go to memory and back
    (134 MB at 64 channels, 32×32, batch 128, r_0 = 4). Instead each thread takes a
    few whole images at a time (at most :data:`ttnet.ops.spatial_step.CHUNK_NUMBERS`
    numbers of Z_0, :func:`~ttnet.ops.spatial_step.z0_chunks`) and runs both steps on
    them while their Z_0 is in the cache, as Winograd's convolution does
    (:func:`ttnet.blas.map_on_threads`). The backward pass makes each chunk's Z_0
    again from ``x``, so the cache keeps nothing of the size of Z_0.

    Parameters
    ----------
    x : ndarray, shape (B, C, H, W), ``C = c_1 ⋯ c_d``
    cores : ``[G_0 (1, 1, l², r_0), G_1 (r_0, s_1, c_1, r_1), …, G_d (r_{d-1}, s_d, c_d, 1)]``
    bias : ndarray, shape (S,), optional
    stride, padding : int or pair
    workspace : dict, optional
        Where each thread's scratch arrays are kept between calls (the backward
        pass uses the same ones).

    Returns
    -------
    y : ndarray, shape (B, S, H', W')
    cache : dict for :func:`tt_conv2d_separable_backward`
    """
    x, cores, bias, g0, stride, padding, (Ho, Wo) = _checked_spatial_args(x, cores, bias, stride,
                                                                          padding)
    check_workspace(workspace)
    workspace = {} if workspace is None else workspace
    W, matrix_cache = tt_matrix_full_forward(_channel_matrix_cores(cores))  # (S, r_0 C)
    (B, C), S, r0 = x.shape[:2], W.shape[0], g0.shape[2]
    y = np.empty((B, S, Ho, Wo), dtype=x.dtype)

    def forward_chunk(chunk: tuple[int, int], t: int) -> None:      # images b0..b1-1
        b0, b1 = chunk
        z0 = scratch_prefix(workspace, f"separable_z{t}", (r0, C, b1 - b0, Ho, Wo), x.dtype)
        spatial_step_forward(x[b0:b1], g0, stride, padding, out=z0)
        yt = scratch_prefix(workspace, f"separable_y{t}", (S, b1 - b0, Ho, Wo), x.dtype)
        np.matmul(W, z0.reshape(r0 * C, -1), out=yt.reshape(S, -1))
        y[b0:b1] = yt.transpose(1, 0, 2, 3)

    map_on_threads(forward_chunk, z0_chunks(B, r0 * C * Ho * Wo))
    if bias is not None:
        y += bias[:, None, None]
    cache = {"algorithm": "separable", "cores": cores, "x": x, "W": W,
             "matrix": matrix_cache, "stride": stride, "padding": padding,
             "workspace": workspace, "has_bias": bias is not None, "out_shape": y.shape,
             "dtype": y.dtype}
    return y, cache


def tt_conv2d_separable_backward(dout: Any, cache: Cache
                                 ) -> tuple[np.ndarray, list[np.ndarray], np.ndarray | None]:
    """Gradients of :func:`tt_conv2d_separable_forward`.

    Chunk by chunk, as the forward pass: the chunk's Z_0 made again from ``x``, then
    ``dW += dY Z_0ᵀ`` and ``dZ_0 = Wᵀ dY`` (the two products of a linear layer) and
    the spatial step's gradients (:func:`ttnet.ops.spatial_step.spatial_step_backward`):
    the chunk's ``dx`` and its part of ``dG_0``. The chunks' parts of ``dW`` and
    ``dG_0`` are added in the order of the chunks, so they do not depend on the
    thread count. Then the channel core gradients from dW by the reverse mode of the
    chain (:func:`ttnet.tt.cores.tt_matrix_full_backward`).

    Returns
    -------
    dx : (B, C, H, W), dcores : list like ``cores``, dbias : (S,) or None
    """
    dout = check_dout(dout, cache)
    cores, x, W, workspace = cache["cores"], cache["x"], cache["W"], cache["workspace"]
    stride, padding = cache["stride"], cache["padding"]
    dbias = dout.sum(axis=(0, 2, 3)) if cache["has_bias"] else None
    g0 = _spatial_filters(cores)
    (B, C), (S, Ho, Wo), r0 = x.shape[:2], dout.shape[1:], g0.shape[2]
    dx = np.empty(x.shape, dtype=x.dtype)
    chunks = z0_chunks(B, r0 * C * Ho * Wo)
    dW, dg0 = OrderedSum(W.shape, x.dtype), OrderedSum(g0.shape, x.dtype)   # in chunk order

    def backward_chunk(numbered: tuple[int, tuple[int, int]], t: int) -> None:
        number, (b0, b1) = numbered
        z0 = scratch_prefix(workspace, f"separable_z{t}", (r0, C, b1 - b0, Ho, Wo), x.dtype)
        spatial_step_forward(x[b0:b1], g0, stride, padding, out=z0)
        dy = scratch_prefix(workspace, f"separable_y{t}", (S, b1 - b0, Ho, Wo), x.dtype)
        dy[...] = dout[b0:b1].transpose(1, 0, 2, 3)
        z0_mat, dy_mat = z0.reshape(r0 * C, -1), dy.reshape(S, -1)
        dW.add(number, dy_mat @ z0_mat.T)                           # (S, r_0 C)
        np.matmul(W.T, dy_mat, out=z0_mat)                          # dZ_0, over Z_0
        _, part = spatial_step_backward(z0, x[b0:b1], g0, stride, padding, dx=dx[b0:b1])
        dg0.add(number, part)

    map_on_threads(backward_chunk, enumerate(chunks))
    dchannel = tt_matrix_full_backward(dW.result(len(chunks)), cache["matrix"])
    dchannel[0] = dchannel[0].reshape(cores[1].shape[1], cores[1].shape[0], cores[1].shape[2],
                                      cores[1].shape[3]).transpose(1, 0, 2, 3)
    return (dx, [dg0.result(len(chunks)).reshape(cores[0].shape)]
            + [np.ascontiguousarray(g) for g in dchannel], dbias)


def tt_conv2d_forward(x: Any, cores: Sequence[np.ndarray], bias: Any = None, stride: Any = 1,
                      padding: Any = 0, algorithm: str = "full",
                      workspace: dict | None = None) -> tuple[np.ndarray, Cache]:
    """TT-conv layer (Garipov et al. 2016, §3) by the algorithm named:
    :func:`tt_conv2d_full_forward` or :func:`tt_conv2d_separable_forward` (which use
    ``workspace``), or :func:`tt_conv2d_sequential_forward` (same results to round-off).

    Returns
    -------
    y : ndarray, shape (B, S, H', W')
    cache : dict for :func:`tt_conv2d_backward`
    """
    if check_algorithm(algorithm, CONV_ALGORITHMS) == "full":
        return tt_conv2d_full_forward(x, cores, bias, stride, padding, workspace=workspace)
    if algorithm == "separable":
        return tt_conv2d_separable_forward(x, cores, bias, stride, padding, workspace=workspace)
    return tt_conv2d_sequential_forward(x, cores, bias, stride, padding)


def tt_conv2d_backward(dout: Any, cache: Cache
                       ) -> tuple[np.ndarray, list[np.ndarray], np.ndarray | None]:
    """Gradients of :func:`tt_conv2d_forward`, by the algorithm recorded in the cache."""
    backward = {"full": tt_conv2d_full_backward,
                "sequential": tt_conv2d_sequential_backward,
                "separable": tt_conv2d_separable_backward}[_cached_algorithm(cache,
                                                                             CONV_ALGORITHMS)]
    return backward(dout, cache)


def _chain_flops(out_modes: Sequence[int], in_modes: Sequence[int], ranks: Sequence[int],
                 prefix: int) -> int:
    """Flops of the chain that builds a dense matrix from TT-matrix cores
    ``(ranks[k], out_modes[k], in_modes[k], ranks[k + 1])``, starting from a left
    factor of ``prefix`` rows: ``Σ_k 2 (prefix m_1 n_1 ⋯ m_{k-1} n_{k-1}) r_k m_k n_k r_{k+1}``."""
    flops = 0
    for m, n, r0, r1 in zip(out_modes, in_modes, ranks[:-1], ranks[1:]):
        flops += 2 * prefix * r0 * m * n * r1
        prefix *= m * n
    return flops


def _dense_conv_cost(B: int, C: int, S: int, in_hw: tuple[int, int], out_hw: tuple[int, int],
                     kernel: tuple[int, int], stride: tuple[int, int],
                     itemsize: int) -> tuple[int, int, int, int]:
    """Flops, wide flops, cached bytes and memory traffic of a dense convolution's forward
    and backward, by the algorithm :func:`~ttnet.nn.functional.conv2d_forward` runs."""
    P, l2 = out_hw[0] * out_hw[1], kernel[0] * kernel[1]
    x_size, y_size = B * C * in_hw[0] * in_hw[1], B * S * P
    T = winograd_tile_count(B, out_hw)
    if conv_algorithm("auto", kernel, stride, C, tiles=T) == "winograd":
        products = 2 * 16 * T * S * C                      # one stack of 16 products
        wide = sum(_wide(products, inner) for inner in (C, S, T))      # M, dV, dU
        # the stacks V, M, dM and dV (16 numbers per tile and channel) are made and used chunk
        # by chunk and stay in the cache (ttnet.ops.winograd), so they are not memory traffic;
        # x is read twice (forward, and again backward), y, dy and dx once each. Nothing is
        # kept but a reference to x.
        traffic = (3 * x_size + 2 * y_size) * itemsize
        return 3 * products, wide, 0, traffic
    products = 2 * B * P * S * C * l2
    # im2col writes the patches, two products read them, col2im's input is written and read
    traffic = (5 * C * l2 + 4 * S) * B * P * itemsize
    return 3 * products, _wide(3 * products, C * l2), C * l2 * B * P * itemsize, traffic


def tt_conv2d_cost(in_modes: Sequence[int], out_modes: Sequence[int], ranks: Sequence[int],
                   kernel_size: int, input_shape: Sequence[int], stride: Any = 1, padding: Any = 0,
                   itemsize: int = 4) -> dict[str, dict[str, int]]:
    """Operations and memory of one forward + backward pass of a TT-conv layer.

    With ``P = H' W'`` output pixels, ``C = Π c_k``, ``S = Π s_k``:

    * ``"full"``: the kernel chain (negligible next to the rest: ``Σ_k 2 (l² s_1 c_1 ⋯) r_{k-1} s_k c_k r_k``,
      three times for forward and backward) plus the dense convolution by the
      algorithm :func:`~ttnet.nn.functional.conv2d_forward` picks: three im2col
      products of ``2 B P S C l²`` flops (output, input gradient, kernel gradient;
      bytes: the patch matrix ``C l² B P``), or for Winograd's F(2×2, 3×3) three
      stacks of 16 products of ``2 T S C`` flops with ``T = B⌈H'/2⌉⌈W'/2⌉`` tiles
      (bytes: none; the backward pass transforms the input again).
    * ``"sequential"``: the spatial step ``2 B C P l² r_0`` plus the channel steps
      ``2 p_k s_k r_k r_{k-1} c_k q_k`` with ``p_k = s_1 ⋯ s_{k-1}``,
      ``q_k = c_{k+1} ⋯ c_d B P``, each three times (forward, input and core
      gradients); bytes: every step's cached input (the first is the spatial
      step's output ``r_0 C B P``).
    * ``"separable"``: the same spatial step, once more in the backward pass (it
      runs chunk by chunk and makes each chunk's Z_0 again), the channel cores'
      matrix chain, and three products of ``2 B P S r_0 C`` flops; bytes: none;
      traffic: four passes over Z_0 and four over y charged as if through memory
      (see the comment in the code).

    Each entry is ``{"flops", "wide_flops", "spatial_flops", "bytes", "traffic",
    "seconds"}`` as in :func:`tt_linear_cost`; ``"spatial_flops"`` is the spatial
    step's share, ``3 · 2 B C P l² r_0`` in the sequential algorithm and ``4 · 2 B C P
    l² r_0`` in the separable one (part of ``"flops"``, shown apart for information).

    Parameters
    ----------
    in_modes, out_modes : sequences of d ints
    ranks : the full tuple ``layer.ranks`` = ``(1, r_0, r_1, …, r_{d-1}, 1)``, so
        ``ranks[k] = r_{k-1}`` (``r_0`` the spatial bond, ``r_d = 1``)
    kernel_size : int (l)
    input_shape : (B, C, H, W)
    stride, padding : int or pair
    itemsize : bytes per number
    """
    B, _, H, W = input_shape
    (kh, kw), stride, padding = window_params(kernel_size, stride, padding)
    Ho, Wo = conv_output_shape((H, W), (kh, kw), stride, padding)
    P, l2 = Ho * Wo, kh * kw
    C, S = math.prod(in_modes), math.prod(out_modes)
    build = _chain_flops(out_modes, in_modes, ranks[1:], l2)          # the kernel from the cores
    conv_flops, conv_wide, full_bytes, full_traffic = _dense_conv_cost(
        B, C, S, (H, W), (Ho, Wo), (kh, kw), stride, itemsize)
    full_flops = 3 * build + conv_flops
    r0 = ranks[1]
    spatial_flops = 3 * 2 * B * C * P * l2 * r0
    # forward: x read, Z_0 written; backward: dZ_0 and x read, dx written
    spatial_traffic = (2 * r0 * C * B * P + 3 * B * C * H * W) * itemsize
    step_flops, step_wide, step_bytes, step_traffic = _steps_cost(in_modes, out_modes, ranks[1:],
                                                                  B, P, itemsize)
    seq_flops = spatial_flops + step_flops
    seq_traffic = spatial_traffic + step_traffic + 4 * S * B * P * itemsize  # y, dy transposed
    # W from the channel cores, G_1's left bond r_0 read as part of its input mode
    channel_build = _chain_flops(out_modes, [r0 * in_modes[0]] + list(in_modes[1:]),
                                 [1] + list(ranks[2:]), 1)
    # chunk by chunk: the backward pass makes each chunk's Z_0 again (a fourth spatial step),
    # and nothing is kept but a reference to x. Traffic: x read twice and dx written, plus four
    # passes over Z_0 and four over y (y written, dy read, both transposed through the
    # chunks), counted at the memory's rate although the chunks' arrays stay in the cache:
    # the spatial step runs at a fraction of the rate the model gives other arithmetic, and
    # these passes stand in for that; four was chosen by measurement (docs/tt_layers.md §4)
    sep_spatial_flops = 4 * 2 * B * C * P * l2 * r0
    sep_flops = sep_spatial_flops + 3 * channel_build + 3 * 2 * B * P * S * r0 * C
    sep_traffic = (3 * B * C * H * W + (4 * r0 * C + 4 * S) * B * P) * itemsize
    sep_wide = _wide(3 * 2 * B * P * S * r0 * C, r0 * C)
    return _costs(full=(full_flops, conv_wide, 0, full_bytes, full_traffic),
                  sequential=(seq_flops, step_wide, spatial_flops, step_bytes, seq_traffic),
                  separable=(sep_flops, sep_wide, sep_spatial_flops, 0, sep_traffic))


# ---------------------------------------------------------------- naive TT-conv
def _check_naive_cores(cores: Any) -> list[np.ndarray]:
    """Four 3-D cores that chain (modes l, l, C, S)."""
    cores = check_cores(cores, core_ndim=3, finite=False)
    if len(cores) != 4:
        raise ValueError(f"the naive TT-conv kernel needs 4 cores (modes l, l, C, S), got "
                         f"{len(cores)}")
    return cores


def _naive_tt_conv2d_inputs(x: Any, cores: Any) -> tuple[np.ndarray, list[np.ndarray]]:
    """x of shape (B, C, H, W) and four naive TT-conv cores with channel mode C, of x's dtype."""
    given = x
    x = as_float_array(x, "x", ndim=4, finite=False)
    cores = _check_naive_cores(cores)
    C = cores[2].shape[1]
    if x.shape[1] != C:
        raise ValueError(f"x has {x.shape[1]} channels but the cores' channel mode is {C}")
    check_same_dtype(x, cores[0], "cores", given)
    return x, cores


def naive_tt_kernel_forward(cores: Sequence[np.ndarray]) -> tuple[np.ndarray, Cache]:
    """The dense ``(S, C, l, l)`` kernel of the naive scheme's four TT cores.

    ``K[s, c, i, j] = T[i, j, c, s] = H_1[0, i, :] H_2[:, j, :] H_3[:, c, :] H_4[:, s, 0]``.
    """
    cores = _check_naive_cores(cores)
    flat, chain = tt_full_forward(cores)
    shape = tuple(c.shape[1] for c in cores)                        # (l, l, C, S)
    K = naive_tensor_to_kernel(flat.reshape(shape))
    return K, {"cores": cores, "chain": chain}


def naive_tt_kernel_backward(dK: np.ndarray, cache: Cache) -> list[np.ndarray]:
    """Core gradients from the gradient of the dense kernel."""
    dT = kernel_to_naive_tensor(dK).reshape(-1)
    return tt_full_backward(dT, cache["cores"], cache["chain"])


def naive_tt_conv2d_forward(x: Any, cores: Sequence[np.ndarray], bias: Any = None,
                            stride: Any = 1, padding: Any = 0,
                            workspace: dict | None = None) -> tuple[np.ndarray, Cache]:
    """Naive TT-conv: build the kernel from the 4-D TT (:func:`naive_tt_kernel_forward`), convolve.

    Parameters
    ----------
    x : ndarray, shape (B, C, H, W)
    cores : four arrays of shapes ``(1, l, r_1)``, ``(r_1, l, r_2)``, ``(r_2, C, r_3)``, ``(r_3, S, 1)``
    bias : ndarray, shape (S,), optional
    stride, padding : int or pair
    workspace : dict, optional
        Reused scratch buffers of the convolution.

    Returns
    -------
    y : ndarray, shape (B, S, H', W'); cache
    """
    x, cores = _naive_tt_conv2d_inputs(x, cores)
    K, kernel_cache = naive_tt_kernel_forward(cores)
    y, conv_cache = conv2d_forward(x, K, bias, stride, padding, workspace=workspace)
    return y, {"kernel": kernel_cache, "conv": conv_cache, "out_shape": y.shape, "dtype": y.dtype}


def naive_tt_conv2d_backward(dout: Any, cache: Cache
                             ) -> tuple[np.ndarray, list[np.ndarray], np.ndarray | None]:
    """Gradients of :func:`naive_tt_conv2d_forward`: dx, dcores, dbias."""
    dout = check_dout(dout, cache)
    dx, dK, dbias = conv2d_backward(dout, cache["conv"])
    return dx, naive_tt_kernel_backward(dK, cache["kernel"]), dbias
