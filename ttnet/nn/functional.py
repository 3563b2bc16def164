"""The maths of every layer as pure functions: ``*_forward`` and ``*_backward`` pairs.

Each ``*_forward(...)`` returns ``(out, cache)``; ``cache`` is a dict holding
what the backward pass needs. Each ``*_backward(dout, cache)`` takes the
gradient of a scalar loss L with respect to ``out`` (``dout = ∂L/∂out``, same
shape and dtype as ``out``) and returns the gradients with respect to the
forward's array arguments, in their order: a single array for one-input
functions, otherwise a tuple (``None`` for an absent bias). Nothing is stored
between calls; the Module classes in :mod:`ttnet.nn.layers` keep the cache.

Shapes use B for the batch, C / S for input / output channels (features),
``(H, W)`` → ``(H', W')`` for the spatial size before / after a window sweep.

dtype rule (docs/conventions.md §6): outputs and gradients have the dtype of the input.
A function with parameters requires the input and the parameters to have the
same dtype and raises ``TypeError`` otherwise; ttnet never converts silently.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import (as_float_array, check_bool, check_choice, check_in_range, check_int,
                       check_out, check_rng, describe)
from ..ops._numba import numba_enabled
from ..ops.batchnorm import batchnorm_gradients, batchnorm_normalize
from ..ops.im2col import col2im, conv_output_shape, im2col, window_params
from ..ops.pool import max_pool2d, max_pool2d_backward, pool_params, window_slice
from ..ops.winograd import (winograd_conv3x3_backward, winograd_conv3x3_forward,
                             winograd_tile_count)
from ..ops.workspace import check_workspace, scratch

__all__ = [
    "linear_forward", "linear_backward",
    "conv2d_forward", "conv2d_backward",
    "batchnorm_forward", "batchnorm_backward",
    "relu_forward", "relu_backward",
    "maxpool2d_forward", "maxpool2d_backward",
    "avgpool2d_forward", "avgpool2d_backward",
    "global_avgpool2d_forward", "global_avgpool2d_backward",
    "dropout_forward", "dropout_backward",
    "softmax_cross_entropy_forward", "softmax_cross_entropy_backward",
]

Cache = dict[str, Any]


# ---------------------------------------------------------------------------
# argument checks shared by the functions below, by ttnet.nn.tt_functional and
# by the layers (public, but not part of the maths: not in __all__)
# ---------------------------------------------------------------------------

def check_same_dtype(x: np.ndarray, param: np.ndarray, param_name: str,
                     given: Any = None) -> None:
    """Raise TypeError unless the input and a parameter have the same dtype.

    ``x`` is the input after :func:`~ttnet._checks.as_float_array` (integers
    read as float64); ``given`` is the input as the caller passed it, so that
    the message names the dtype the caller used (``int64``, not ``float64``).
    """
    if x.dtype == param.dtype:
        return
    got = x.dtype
    if given is not None and given is not x:
        got = given.dtype if isinstance(given, np.ndarray) else np.asarray(given).dtype
    alternative = (f" or use parameters of dtype {x.dtype} (layers: dtype=np.{x.dtype})"
                   if got == x.dtype else "")
    raise TypeError(
        f"x has dtype {got} but {param_name} has dtype {param.dtype}; ttnet does not convert "
        f"silently: pass x.astype(np.{param.dtype}){alternative}")


def check_bias(bias: Any, n: int, x: np.ndarray) -> np.ndarray | None:
    """Validate an optional bias of shape (n,) and the dtype of ``x``."""
    if bias is None:
        return None
    bias = as_float_array(bias, "bias", ndim=1, finite=False)
    if bias.shape != (n,):
        raise ValueError(f"bias must have shape ({n},), got {bias.shape}")
    check_same_dtype(x, bias, "bias")
    return bias


def check_dout(dout: Any, cache: Cache) -> np.ndarray:
    """``dout`` must have the shape and dtype of the forward output recorded in the cache."""
    if not isinstance(cache, dict) or "out_shape" not in cache:
        raise TypeError("cache must be the dict returned by the matching *_forward function")
    dout = as_float_array(dout, "dout", finite=False)
    if dout.shape != cache["out_shape"]:
        raise ValueError(f"dout must have the shape of the forward output {cache['out_shape']}, "
                         f"got {dout.shape}")
    if dout.dtype != cache["dtype"]:
        raise TypeError(f"dout must have the dtype of the forward output ({cache['dtype']}), "
                        f"got {dout.dtype}")
    return dout


# ---------------------------------------------------------------------------
# Linear:  y = x Wᵀ + b
# ---------------------------------------------------------------------------

def _linear_inputs(x: Any, weight: Any, bias: Any) -> tuple[np.ndarray, np.ndarray, Any]:
    """x (B, N), weight (M, N) and bias (M,) or None, of one dtype."""
    given = x
    x = as_float_array(x, "x", ndim=2, finite=False)
    weight = as_float_array(weight, "weight", ndim=2, finite=False)
    if x.shape[1] != weight.shape[1]:
        raise ValueError(f"x has {x.shape[1]} features but weight {weight.shape} expects "
                         f"{weight.shape[1]} (weight shape is (out_features, in_features))")
    check_same_dtype(x, weight, "weight", given)
    return x, weight, check_bias(bias, weight.shape[0], x)


def linear_forward(x: Any, weight: Any, bias: Any = None) -> tuple[np.ndarray, Cache]:
    """Affine map ``y = x Wᵀ + b`` (docs/conventions.md §3 layout).

    Parameters
    ----------
    x : ndarray, shape (B, N)
    weight : ndarray, shape (M, N)
        ``(out_features, in_features)``.
    bias : ndarray, shape (M,), optional

    Returns
    -------
    out : ndarray, shape (B, M)
    cache : dict
    """
    x, weight, bias = _linear_inputs(x, weight, bias)
    out = x @ weight.T
    if bias is not None:
        out += bias
    return out, {"x": x, "weight": weight, "has_bias": bias is not None,
                 "out_shape": out.shape, "dtype": out.dtype}


def linear_backward(dout: Any, cache: Cache, *, dweight_out: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients of ``y = x Wᵀ + b``: ``dx = dy W``, ``dW = dyᵀ x``, ``db = Σ_batch dy``.

    Parameters
    ----------
    dout : ndarray, shape (B, M)
    cache : dict
        From :func:`linear_forward`.
    dweight_out : ndarray, shape (M, N), the weight's dtype, optional
        Where to write ``dW`` (:class:`ttnet.nn.Linear` passes its ``grads["weight"]``):
        the product is written there directly instead of into a new (M, N) array, which
        for the paper's 8192 → 1536 layer saves allocating and copying 50 MB every step.

    Returns
    -------
    dx : (B, N), dweight : (M, N) (``dweight_out`` itself when given), dbias : (M,) or None
    """
    dout = check_dout(dout, cache)
    weight = cache["weight"]
    if dweight_out is not None:
        check_out(dweight_out, "dweight_out", weight.shape, weight.dtype)
    dx = dout @ weight
    dweight = np.matmul(dout.T, cache["x"], out=dweight_out)
    dbias = dout.sum(axis=0) if cache["has_bias"] else None
    return dx, dweight, dbias


# ---------------------------------------------------------------------------
# Conv2d via im2col:  Y_mat = K_mat @ cols   (ttnet.ops.im2col, equation 2),
# or, for 3×3 stride-1 kernels, by Winograd's F(2×2, 3×3) (ttnet.ops.winograd)
# ---------------------------------------------------------------------------

#: The algorithms of :func:`conv2d_forward`.
CONV_ALGORITHMS = ("auto", "im2col", "winograd")

#: ``"auto"`` runs Winograd's algorithm from this many input channels up (3×3, stride 1, numba
#: on): below it the 16 products are too thin to pay for the transforms. The channel sweep of
#: ``benchmarks/bench_layers.py`` (C → 64 at 32×32, batch 128) measured im2col 1.2× faster at
#: 16 input channels and Winograd 1.1× faster at 32.
WINOGRAD_MIN_CHANNELS = 32

#: ... and only on at least this many 2×2 output tiles, ``B·⌈H'/2⌉·⌈W'/2⌉`` (when the caller
#: knows the batch): on fewer, the 16 products are short and the transforms' fixed costs
#: dominate. The tile sweep of ``benchmarks/bench_layers.py`` (C → C for C = 32–256,
#: H' = 4–32, batches 2–128, 28 cases) measured im2col faster on 8 of the 9 cases of 128
#: tiles or fewer (up to 3×), Winograd faster on 11 of the 12 cases of 2,048 tiles or more
#: (1.15–1.70×), and 512 tiles the break-even: Winograd ahead at 32–128 channels
#: (1.05–1.46×), behind at 256 (0.76–0.80×). The threshold knowingly loses there (256
#: channels at 8×8, batch 32, is the case ``benchmarks/bench_tt_algorithms.py`` misses);
#: a rule by channels and tiles would need a finer sweep than the factors of 4 measured.
WINOGRAD_MIN_TILES = 512


def conv_algorithm(algorithm: Any, kernel_size: Any, stride: Any, in_channels: int,
                   tiles: int | None = None) -> str:
    """The algorithm :func:`conv2d_forward` runs: ``"im2col"`` or ``"winograd"``.

    ``"auto"`` picks Winograd's F(2×2, 3×3) for a 3×3 kernel at stride 1 with
    at least :data:`WINOGRAD_MIN_CHANNELS` input channels and, if ``tiles`` (the
    output's 2×2 tiles over the whole batch, ``B·⌈H'/2⌉·⌈W'/2⌉``,
    :func:`~ttnet.ops.winograd.winograd_tile_count`) is given, at least
    :data:`WINOGRAD_MIN_TILES` of them, when the numba kernels
    are on (its NumPy twins are references, not fast paths); else im2col.
    ``"winograd"`` for another kernel size or stride raises ``ValueError``.
    """
    algorithm = check_choice(algorithm, "algorithm", CONV_ALGORITHMS)
    kernel_size, stride, _ = window_params(kernel_size, stride)
    in_channels = check_int(in_channels, "in_channels", minimum=1)
    if tiles is not None:
        tiles = check_int(tiles, "tiles", minimum=0)
    winograd_fits = kernel_size == (3, 3) and stride == (1, 1)
    if algorithm == "winograd" and not winograd_fits:
        raise ValueError(f"algorithm='winograd' needs a 3x3 kernel at stride 1, got kernel "
                         f"{kernel_size} and stride {stride}; use 'im2col' or 'auto'")
    if algorithm == "auto":
        enough_work = in_channels >= WINOGRAD_MIN_CHANNELS and (
            tiles is None or tiles >= WINOGRAD_MIN_TILES)
        fast = winograd_fits and enough_work and numba_enabled()
        algorithm = "winograd" if fast else "im2col"
    return algorithm


def _conv2d_inputs(x: Any, weight: Any, bias: Any,
                   workspace: Any) -> tuple[np.ndarray, np.ndarray, Any]:
    """x (B, C, H, W), weight (S, C, kh, kw), bias (S,) or None of one dtype; workspace a dict."""
    given = x
    x = as_float_array(x, "x", ndim=4, finite=False)
    weight = as_float_array(weight, "weight", ndim=4, finite=False)
    S, C = weight.shape[:2]
    if x.shape[1] != C:
        raise ValueError(f"x has {x.shape[1]} channels but weight {weight.shape} expects {C} "
                         f"(weight shape is (S, C, kh, kw), x is NCHW)")
    check_same_dtype(x, weight, "weight", given)
    bias = check_bias(bias, S, x)
    check_workspace(workspace)
    return x, weight, bias


def conv2d_forward(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0, *,
                   workspace: dict | None = None, algorithm: str = "auto"
                   ) -> tuple[np.ndarray, Cache]:
    """2-D cross-correlation of an NCHW batch: one matrix product (Garipov et al. 2016, Fig. 1),
    or 16 smaller ones by Winograd's algorithm.

    ``Y[b, s, p, q] = Σ_{c,i,j} K[s, c, i, j] · X̃[b, c, p·sh + i, q·sw + j] + bias[s]``,
    computed as ``K.reshape(S, C·kh·kw) @ im2col(x)`` (see :mod:`ttnet.ops.im2col`), or,
    for a 3×3 kernel at stride 1, as 16 smaller products by Winograd's F(2×2, 3×3)
    (:mod:`ttnet.ops.winograd`: 2.25× fewer multiplications; equal to round-off).

    Parameters
    ----------
    x : ndarray, shape (B, C, H, W)
    weight : ndarray, shape (S, C, kh, kw)
    bias : ndarray, shape (S,), optional
    stride : int or pair of int, >= 1
    padding : int or pair of int, >= 0
        Zeros added on each side of the height and width.
    workspace : dict, optional
        Scratch arrays reused between calls (the patch matrix and the
        (S, B·H'·W') product). Pass the same dict every time, as
        :class:`~ttnet.nn.layers.Conv2d` does, to avoid allocating hundreds of
        MB per batch. The cache then refers to the workspace, so it is only
        valid until the next call with that workspace.
    algorithm : {"auto", "im2col", "winograd"}
        See :func:`conv_algorithm`; the cache records the one that ran.

    Returns
    -------
    out : ndarray, shape (B, S, H', W')
        ``H' = (H + 2·ph − kh) // sh + 1``, same for W'. A new array.
    cache : dict
        Holds what the gradients need: the patch matrix ``cols`` (C·kh·kw ×
        B·H'·W' numbers, the largest array of the layer), or, for Winograd's
        algorithm, a reference to ``x`` (its backward pass transforms ``x`` again;
        :mod:`ttnet.ops.winograd`).
    """
    x, weight, bias = _conv2d_inputs(x, weight, bias, workspace)
    S, C, kh, kw = weight.shape
    B = x.shape[0]
    _, stride, padding = window_params((kh, kw), stride, padding)
    Ho, Wo = conv_output_shape(x.shape[2:], (kh, kw), stride, padding)
    cache = {"x_shape": x.shape, "weight": weight, "has_bias": bias is not None,
             "stride": stride, "padding": padding, "workspace": workspace,
             "out_shape": (B, S, Ho, Wo), "dtype": x.dtype,
             "algorithm": conv_algorithm(algorithm, (kh, kw), stride, C,
                                         tiles=winograd_tile_count(B, (Ho, Wo)))}
    if cache["algorithm"] == "winograd":
        out = winograd_conv3x3_forward(x, weight, padding, workspace=workspace)
        cache["x"] = x
        if bias is not None:
            out += bias[:, None, None]
        return out, cache
    cols = im2col(x, (kh, kw), stride, padding,                   # (C·kh·kw, B·H'·W')
                  out=scratch(workspace, "cols", (C * kh * kw, B * Ho * Wo), x.dtype))
    out_mat = np.matmul(weight.reshape(S, -1), cols,               # (S, B·H'·W')
                        out=scratch(workspace, "out_mat", (S, B * Ho * Wo), x.dtype))
    if bias is not None:
        out_mat += bias[:, None]
    out = np.ascontiguousarray(out_mat.reshape(S, B, Ho, Wo).transpose(1, 0, 2, 3))
    cache["cols"] = cols
    return out, cache


def conv2d_backward(dout: Any, cache: Cache
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients of the convolution, by the algorithm that ran forward.

    im2col: with ``dY_mat`` the (S, B·H'·W') matrix of ``dout``,
    ``dK_mat = dY_mat colsᵀ``, ``dcols = K_matᵀ dY_mat``, ``dx = col2im(dcols)``
    (the adjoint of im2col sums the gradients of overlapping patches).
    Winograd: the transposed steps (:func:`ttnet.ops.winograd.winograd_conv3x3_backward`).
    Both: ``dbias = Σ_{b,p,q} dY``.

    Returns
    -------
    dx : (B, C, H, W), dweight : (S, C, kh, kw), dbias : (S,) or None
    """
    dout = check_dout(dout, cache)
    weight, workspace = cache["weight"], cache["workspace"]
    if cache["algorithm"] == "winograd":
        dx, dweight = winograd_conv3x3_backward(dout, cache["x"], weight, cache["padding"],
                                                workspace=workspace)
        dbias = dout.sum(axis=(0, 2, 3)) if cache["has_bias"] else None
        return dx, dweight, dbias
    cols = cache["cols"]
    B, S, Ho, Wo = dout.shape
    dout_mat = scratch(workspace, "dout_mat", (S, B * Ho * Wo), dout.dtype)
    dout_mat.reshape(S, B, Ho, Wo)[...] = dout.transpose(1, 0, 2, 3)
    # dK_mat = dY_mat colsᵀ, evaluated as (cols dY_matᵀ)ᵀ: the same product, which OpenBLAS
    # ran 1.2-1.5x faster in this order on the benchmark shapes, and which stays fast when
    # another process shares the cores (its C·kh·kw result rows split between the threads;
    # dY_mat colsᵀ, with only S rows, took up to 80x longer then: docs/design_notes.md).
    dweight = np.ascontiguousarray((cols @ dout_mat.T).T).reshape(weight.shape)
    dcols = np.matmul(weight.reshape(S, -1).T, dout_mat,          # (C·kh·kw, B·H'·W')
                      out=scratch(workspace, "dcols", cols.shape, dout.dtype))
    dx = col2im(dcols, cache["x_shape"], weight.shape[2:], cache["stride"], cache["padding"])
    dbias = dout_mat.sum(axis=1) if cache["has_bias"] else None    # Σ over (b, p, q)
    return dx, dweight, dbias


# ---------------------------------------------------------------------------
# Batch normalisation (Ioffe & Szegedy 2015), over all axes but the channel axis 1
# ---------------------------------------------------------------------------

def _batchnorm_inputs(x: Any, gamma: Any, beta: Any, eps: Any, training: Any, running_mean: Any,
                      running_var: Any) -> tuple[np.ndarray, dict[str, np.ndarray], float, bool]:
    """x (B, C) or (B, C, H, W); the (C,) parameters and statistics it needs, of x's dtype;
    eps > 0; training a bool, with more than one value per channel."""
    given = x
    x = as_float_array(x, "x", finite=False)
    if x.ndim not in (2, 4):
        raise ValueError(f"x must have 2 dimensions (B, C) or 4 (B, C, H, W), got {x.ndim} "
                         f"(shape {x.shape})")
    C = x.shape[1]
    training = check_bool(training, "training")
    params = {}
    for name, value in (("gamma", gamma), ("beta", beta), ("running_mean", running_mean),
                        ("running_var", running_var)):
        if value is None and (name in ("gamma", "beta") or not training):
            raise ValueError(f"{name} is required" + ("" if name in ("gamma", "beta")
                                                      else " in evaluation mode (training=False)"))
        if value is not None:
            arr = as_float_array(value, name, ndim=1, finite=False)
            if arr.shape != (C,):
                raise ValueError(f"{name} must have shape ({C},) to match the {C} channels of x, "
                                 f"got {arr.shape}")
            check_same_dtype(x, arr, name, given)
            params[name] = arr
    eps = check_in_range(eps, "eps", 0.0, np.inf, include_low=False)
    if training and x.size // C < 2:
        raise ValueError(f"batch normalisation in training mode needs more than one value per "
                         f"channel, got x of shape {x.shape}")
    return x, params, eps, training


def batchnorm_forward(x: Any, gamma: Any, beta: Any, *, eps: float = 1e-5, training: bool = True,
                      running_mean: Any = None, running_var: Any = None
                      ) -> tuple[np.ndarray, Cache]:
    """Batch normalisation per channel: ``y = γ · (x − μ) / √(σ² + ε) + β``.

    In training mode μ and σ² are the mean and the biased variance (divide by
    m) of the current batch over the m = B (or B·H·W) values of each channel,
    and the cache also holds them (``cache["mean"]``, ``cache["var"]``) so the
    caller can update running averages. In evaluation mode μ and σ² are the
    given ``running_mean`` and ``running_var``.

    Parameters
    ----------
    x : ndarray, shape (B, C) or (B, C, H, W)
    gamma, beta : ndarray, shape (C,)
    eps : float
        Added to the variance, > 0.
    training : bool
    running_mean, running_var : ndarray, shape (C,)
        Required when ``training`` is False.

    Returns
    -------
    out : ndarray, the shape of x
    cache : dict

    Raises
    ------
    ValueError
        For a channel mismatch, ``eps <= 0``, a missing running statistic in
        evaluation mode, or a single value per channel in training mode (its
        variance is undefined).
    """
    x, p, eps, training = _batchnorm_inputs(x, gamma, beta, eps, training, running_mean,
                                            running_var)
    # μ, σ², x̂ = (x − μ) / √(σ² + ε) and y = γ x̂ + β per channel: one fused numba pass or its
    # NumPy twin, which writes the formula out (ttnet.ops.batchnorm.batchnorm_normalize_numpy)
    out, x_hat, mean, var, inv_std = batchnorm_normalize(
        x, p["gamma"], p["beta"], eps, training, p.get("running_mean"), p.get("running_var"))
    cache = {"x_hat": x_hat, "inv_std": inv_std, "gamma": p["gamma"], "training": training,
             "mean": mean, "var": var, "m": x.size // x.shape[1], "out_shape": out.shape,
             "dtype": out.dtype}
    return out, cache


def batchnorm_backward(dout: Any, cache: Cache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of batch normalisation.

    ``dβ = Σ dy``, ``dγ = Σ dy · x̂`` (sums over all axes but the channel). In
    training mode μ and σ² depend on x, which gives (per channel, means over
    the m values of that channel, ``dx̂ = γ dy``)

        dx = (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)) / √(σ² + ε)
           = (γ / √(σ² + ε)) · (dy − dβ/m − x̂ · dγ/m);

    in evaluation mode they are constants and ``dx = γ dy / √(σ² + ε)``.

    Returns
    -------
    dx : the shape of x, dgamma : (C,), dbeta : (C,)
    """
    dout = check_dout(dout, cache)
    return batchnorm_gradients(dout, cache["x_hat"], cache["gamma"], cache["inv_std"],
                               cache["training"])


# ---------------------------------------------------------------------------
# ReLU
# ---------------------------------------------------------------------------

def relu_forward(x: Any) -> tuple[np.ndarray, Cache]:
    """``y = max(x, 0)`` elementwise, any shape (NaN stays NaN)."""
    x = as_float_array(x, "x", finite=False)
    out = np.maximum(x, x.dtype.type(0))
    return out, {"positive": x > 0, "out_shape": x.shape, "dtype": x.dtype}


def relu_backward(dout: Any, cache: Cache) -> np.ndarray:
    """``dx = dy · [x > 0]`` (the subgradient 0 is used at x = 0)."""
    dout = check_dout(dout, cache)
    return dout * cache["positive"]


# ---------------------------------------------------------------------------
# Pooling windows
# ---------------------------------------------------------------------------

def maxpool2d_forward(x: Any, kernel_size: Any, stride: Any = None,
                      padding: Any = 0) -> tuple[np.ndarray, Cache]:
    """Max over each window: ``y[b, c, p, q] = max_{i,j} X̃[b, c, p·sh + i, q·sw + j]``.

    The padding is −∞, so it never wins the max. The cache records, for each
    window, which entry was the maximum: the *first* one in row-major window
    order (smallest ``i·kw + j``) when several entries tie; the backward pass
    sends the window's gradient to that entry only. A NaN in a window makes
    its output NaN. Computed by :func:`ttnet.ops.pool.max_pool2d`.

    Parameters
    ----------
    x : ndarray, shape (B, C, H, W)
    kernel_size : int or pair of int
    stride : int or pair of int, optional
        Defaults to ``kernel_size``.
    padding : int or pair of int
        At most half of the kernel size.

    Returns
    -------
    out : ndarray, shape (B, C, H', W')
    cache : dict
    """
    x = as_float_array(x, "x", ndim=4, finite=False)
    kernel, stride, padding, _ = pool_params(x.shape[2:], kernel_size, stride, padding)
    out, argmax = max_pool2d(x, kernel, stride, padding)
    cache = {"argmax": argmax, "x_shape": x.shape, "kernel_size": kernel, "stride": stride,
             "padding": padding, "out_shape": out.shape, "dtype": out.dtype}
    return out, cache


def maxpool2d_backward(dout: Any, cache: Cache) -> np.ndarray:
    """Route each window's gradient to its recorded maximum: ``dx[argmax(window)] += dy``.

    Windows overlap when stride < kernel size, so one input can receive the
    gradient of several windows; these are summed.
    """
    dout = check_dout(dout, cache)
    return max_pool2d_backward(dout, cache["argmax"], cache["x_shape"], cache["kernel_size"],
                               cache["stride"], cache["padding"])


def avgpool2d_forward(x: Any, kernel_size: Any, stride: Any = None,
                      padding: Any = 0) -> tuple[np.ndarray, Cache]:
    """Mean over each window: ``y[b, c, p, q] = Σ_{i,j} X̃[b, c, p·sh+i, q·sw+j] / (kh·kw)``.

    Padded zeros count in the divisor, which is always ``kh·kw`` (PyTorch's
    default ``count_include_pad=True``): a window half in the padding
    averages the real values with zeros.

    Parameters and returns as :func:`maxpool2d_forward`.
    """
    x = as_float_array(x, "x", ndim=4, finite=False)
    (kh, kw), stride, (ph, pw), out_hw = pool_params(x.shape[2:], kernel_size, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.zeros((*x.shape[:2], *out_hw), dtype=x.dtype)
    for k in range(kh * kw):
        out += xp[window_slice(k // kw, k % kw, stride, out_hw)]
    out /= x.dtype.type(kh * kw)
    cache = {"x_shape": x.shape, "kernel_size": (kh, kw), "stride": stride, "padding": (ph, pw),
             "out_shape": out.shape, "dtype": out.dtype}
    return out, cache


def avgpool2d_backward(dout: Any, cache: Cache) -> np.ndarray:
    """Every input of a window receives ``dy / (kh·kw)``; overlapping windows add up."""
    dout = check_dout(dout, cache)
    (kh, kw), (ph, pw) = cache["kernel_size"], cache["padding"]
    B, C, H, W = cache["x_shape"]
    share = dout / dout.dtype.type(kh * kw)
    dxp = np.zeros((B, C, H + 2 * ph, W + 2 * pw), dtype=dout.dtype)
    for k in range(kh * kw):
        dxp[window_slice(k // kw, k % kw, cache["stride"], dout.shape[2:])] += share
    return dxp[:, :, ph:ph + H, pw:pw + W].copy()


def global_avgpool2d_forward(x: Any) -> tuple[np.ndarray, Cache]:
    """Mean over all positions of each channel: ``y[b, c] = (1 / HW) Σ_{h,w} x[b, c, h, w]``.

    Shapes: (B, C, H, W) → (B, C).
    """
    x = as_float_array(x, "x", ndim=4, finite=False)
    out = x.mean(axis=(2, 3))
    return out, {"x_shape": x.shape, "out_shape": out.shape, "dtype": out.dtype}


def global_avgpool2d_backward(dout: Any, cache: Cache) -> np.ndarray:
    """``dx[b, c, h, w] = dy[b, c] / (H·W)``."""
    dout = check_dout(dout, cache)
    B, C, H, W = cache["x_shape"]
    share = dout / dout.dtype.type(H * W)
    return np.broadcast_to(share[:, :, None, None], (B, C, H, W)).copy()


# ---------------------------------------------------------------------------
# Dropout (inverted)
# ---------------------------------------------------------------------------

def _dropout_inputs(x: Any, p: Any, rng: Any,
                    training: Any) -> tuple[np.ndarray, float, np.random.Generator, bool]:
    """x any float array, p in [0, 1), rng a Generator (or seed), training a bool."""
    return (as_float_array(x, "x", finite=False), check_in_range(p, "p", 0.0, 1.0,
            include_high=False), check_rng(rng), check_bool(training, "training"))


def dropout_forward(x: Any, p: float, rng: Any = None, training: bool = True
                    ) -> tuple[np.ndarray, Cache]:
    """Inverted dropout: ``y = x · mask / (1 − p)`` with ``mask ~ Bernoulli(1 − p)``.

    Each entry is zeroed with probability ``p``; survivors are scaled by
    ``1/(1 − p)`` so that ``E[y] = x`` and nothing needs rescaling at test
    time. With ``training=False`` (or ``p = 0``) it is the identity.

    Parameters
    ----------
    x : ndarray, any shape
    p : float in [0, 1)
        Drop probability.
    rng : np.random.Generator, int seed or None
        Source of the mask (see :func:`ttnet._checks.check_rng`).
    training : bool

    Returns
    -------
    out : ndarray, the shape of x
    cache : dict, holding the scaled mask (``None`` for the identity)
    """
    x, p, rng, training = _dropout_inputs(x, p, rng, training)
    scaled_mask = None
    out = x
    if training and p > 0:
        keep = rng.random(x.shape, dtype=x.dtype) >= p
        scaled_mask = keep * x.dtype.type(1 / (1 - p))              # dtype of x
        out = x * scaled_mask
    return out, {"scaled_mask": scaled_mask, "out_shape": x.shape, "dtype": x.dtype}


def dropout_backward(dout: Any, cache: Cache) -> np.ndarray:
    """``dx = dy · mask / (1 − p)`` (the identity when the forward was)."""
    dout = check_dout(dout, cache)
    return dout if cache["scaled_mask"] is None else dout * cache["scaled_mask"]


# ---------------------------------------------------------------------------
# Softmax cross-entropy
# ---------------------------------------------------------------------------

def _check_labels(labels: Any, batch: int, n_classes: int) -> np.ndarray:
    """Integer class indices of shape (batch,), each in [0, n_classes)."""
    if isinstance(labels, (str, bytes)) or labels is None:
        raise TypeError(f"labels must be an array of integer class indices, got {labels!r}")
    arr = np.asarray(labels)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"labels must be integer class indices, got dtype {arr.dtype}; "
                        f"convert with labels.astype(int) if they are whole numbers")
    if arr.ndim != 1:
        raise ValueError(f"labels must have 1 dimension (B,), got shape {arr.shape}")
    if arr.shape[0] != batch:
        raise ValueError(f"labels must have one entry per row of logits ({batch}), "
                         f"got {arr.shape[0]}")
    if arr.size and (arr.min() < 0 or arr.max() >= n_classes):
        bad = arr[(arr < 0) | (arr >= n_classes)]
        raise ValueError(f"labels must be in [0, {n_classes}) for logits with {n_classes} classes, "
                         f"got {bad[:5].tolist()}{'...' if bad.size > 5 else ''}")
    return arr


def _softmax_cross_entropy_inputs(logits: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """Finite logits (B, K) with B, K >= 1 and integer labels (B,) in [0, K)."""
    logits = as_float_array(logits, "logits", ndim=2, finite=True)
    B, K = logits.shape
    if B == 0 or K == 0:          # the mean over no rows (or a softmax over no classes) is undefined
        raise ValueError(f"logits must have at least one row and one class, shape (B >= 1, "
                         f"K >= 1), got shape {logits.shape}")
    return logits, _check_labels(labels, B, K)


def softmax_cross_entropy_forward(logits: Any, labels: Any) -> tuple[np.ndarray, Cache]:
    """Mean cross-entropy of the softmax: ``L = (1/B) Σ_b (log Σ_k e^{z_bk} − z_{b,y_b})``.

    The log-sum-exp is evaluated stably as ``max_k z_bk + log Σ_k e^{z_bk − max}``.

    Parameters
    ----------
    logits : ndarray, shape (B, K)
        Unnormalised class scores z; must be finite.
    labels : ndarray of int, shape (B,)
        Class indices y_b in [0, K).

    Returns
    -------
    loss : 0-d ndarray of the dtype of ``logits``
    cache : dict, holding the softmax probabilities

    Raises
    ------
    ValueError
        If ``logits`` holds NaN or Inf, is not 2-D or is empty (B = 0 or K = 0),
        or ``labels`` has the wrong length or a value out of range.
    TypeError
        If ``labels`` is not an integer array.
    """
    logits, labels = _softmax_cross_entropy_inputs(logits, labels)
    B = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_probs = shifted - log_sum                                  # log softmax, (B, K)
    loss = -log_probs[np.arange(B), labels].mean()
    cache = {"probs": np.exp(log_probs), "labels": labels, "out_shape": (), "dtype": logits.dtype}
    return np.asarray(loss, dtype=logits.dtype), cache


def softmax_cross_entropy_backward(dout: Any, cache: Cache) -> np.ndarray:
    """``∂(dL · L)/∂z = dL · (softmax(z) − onehot(y)) / B`` (labels are not differentiable).

    ``dout`` is the scalar upstream gradient dL (1 when L is the final loss):
    a Python number, NumPy scalar or 0-d array, used in the logits' dtype.

    Returns
    -------
    dlogits : ndarray, shape (B, K)
    """
    if not isinstance(cache, dict) or "probs" not in cache:
        raise TypeError("cache must be the dict returned by softmax_cross_entropy_forward")
    if np.ndim(dout) == 0 and not isinstance(dout, (str, bytes)):
        # a real scalar (complex, None and objects are refused): no precision concern in a cast
        dout = as_float_array(dout, "dout", finite=False).astype(cache["dtype"])
    dout = check_dout(dout, cache)
    probs, labels = cache["probs"], cache["labels"]
    B = probs.shape[0]
    dlogits = probs.copy()
    dlogits[np.arange(B), labels] -= 1
    dlogits *= dout / dout.dtype.type(B)
    return dlogits
