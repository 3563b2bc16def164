"""The per-channel passes of batch normalisation: a numba kernel and its NumPy twin each.

The formulas are read best in the NumPy twins, :func:`batchnorm_normalize_numpy`
and :func:`batchnorm_gradients_numpy`; the numba kernels beside them compute the
same numbers in one pass per channel, and :func:`batchnorm_normalize` /
:func:`batchnorm_gradients` run one or the other (``TTNET_NUMBA``).

Batch normalisation (Ioffe & Szegedy 2015) reduces over every axis but the
channel axis, ``(0, 2, 3)`` of an NCHW array. NumPy does each reduction and each
elementwise step as a separate pass over memory with strided access; the
kernels do one channel per task (``prange`` over channels), walking that
channel's ``B`` contiguous ``H·W`` blocks, so the forward pass reads the input
three times and the backward pass reads its inputs twice. They see the array
as ``(B, C, H·W)``.

Both paths compute exactly the same quantities, so they agree on every input,
NaN and ±inf included (``tests/ops/test_twins_nonfinite.py``):

* **sums in float64** — the batch mean ``μ = Σ x / m``, the biased variance
  ``σ² = Σ (x − μ)² / m`` and the gradient sums ``Σ dy`` and ``Σ dy·x̂`` are
  accumulated in float64 (squares and products formed in float64) and each
  rounded to the input's dtype once. A float32 running sum over the ~10⁵
  values of a channel would lose several digits, and would overflow for
  values that float32 holds (forty values of 10³⁷);
* **element-wise work in the input dtype** — ``x − μ``, ``x̂ = (x − μ)·inv_std``
  (``inv_std = 1/√(σ² + ε)`` evaluated in float64, then rounded),
  ``y = γ x̂ + β`` and ``dx = s (dy − shift − x̂·slope)`` use the rounded
  μ, inv_std, s = γ·inv_std, shift and slope, in the same order on both
  paths (bit-equal where no sum is involved, e.g. in evaluation mode).

Non-finite values: a NaN or ±inf in a channel of x in training mode makes
that channel's σ² NaN (μ is NaN or ±inf), and with it the channel's whole
output and gradient; other channels are unaffected. In evaluation mode μ and σ² are
given, and a NaN or ±inf entry of x gives NaN or ±inf in y at that entry and
NaN in dx there: dx uses the same formula as in training with shift = slope =
0, and ``x̂·0`` is NaN for a non-finite x̂, so a non-finite input is never
turned into a finite gradient. ``(B, C)`` arrays (BatchNorm1d) are handled as
``(B, C, 1)``. ``benchmarks/bench_layers.py`` prints the kernels' speed
against the twins.
"""

from __future__ import annotations

import math

import numpy as np

from ._numba import choose, numba_kernel, prange

__all__ = ["batchnorm_normalize", "batchnorm_gradients", "batchnorm_normalize_numpy",
           "batchnorm_gradients_numpy"]


def _channel_axes(x: np.ndarray) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The axes a per-channel sum runs over (all but axis 1) and the shape that
    broadcasts a (C,) vector against x."""
    return (0,) + tuple(range(2, x.ndim)), (1, -1) + (1,) * (x.ndim - 2)


def _as_bcl(a: np.ndarray) -> np.ndarray:
    """``a`` (B, C, ...) as a C-contiguous (B, C, L) array, L the product of the trailing sizes
    (written out rather than -1, which NumPy cannot infer when B = 0)."""
    return np.ascontiguousarray(a).reshape(a.shape[:2] + (math.prod(a.shape[2:]),))


def _channel_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``Σ a·b`` per channel (axis 1), the products formed and summed in float64."""
    return np.einsum("bcl,bcl->c", _as_bcl(a), _as_bcl(b), dtype=np.float64)


# ---------------------------------------------------------------------------
# forward: x̂ = (x − μ) / √(σ² + ε), y = γ x̂ + β
# ---------------------------------------------------------------------------

def batchnorm_normalize_numpy(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float,
                              training: bool, mean: np.ndarray | None = None,
                              var: np.ndarray | None = None):
    """The batch-norm forward formula in NumPy (the twin of the numba kernel).

    Per channel c, over the m values of x[:, c] (m = B·H·W for an NCHW array):

        μ = Σ x / m,   σ² = Σ (x − μ)² / m   (training; else the given mean, var)
        x̂ = (x − μ) / √(σ² + ε),   y = γ x̂ + β

    Sums in float64, each rounded to x's dtype once; element-wise work in x's dtype.

    Parameters
    ----------
    x : ndarray, shape (B, C, ...) (the kernels get ``(B, C, H·W)``)
    gamma, beta : ndarray, shape (C,), dtype of x
    eps : float > 0
    training : bool
    mean, var : ndarray, shape (C,), dtype of x; used (and returned) when not training

    Returns
    -------
    out, x_hat : shape and dtype of x; mean, var, inv_std : shape (C,), dtype of x
    """
    axes, per_channel = _channel_axes(x)
    m = x.size // x.shape[1]
    if training:
        mean = x.mean(axis=axes, dtype=np.float64).astype(x.dtype)                   # μ
    x_mu = x - mean.reshape(per_channel)                                            # x − μ
    if training:
        var = (_channel_dot(x_mu, x_mu) / m).astype(x.dtype)
    inv_std = (1.0 / np.sqrt(var.astype(np.float64) + eps)).astype(x.dtype)        # 1/√(σ²+ε)
    x_hat = x_mu * inv_std.reshape(per_channel)
    out = x_hat * gamma.reshape(per_channel) + beta.reshape(per_channel)
    return out, x_hat, mean, var, inv_std


@numba_kernel
def _normalize_kernel(x, gamma, beta, eps, training, mean, var, inv_std, x_hat,
                      out):  # pragma: no cover - compiled
    """numba twin of :func:`batchnorm_normalize_numpy`, writing into its last five arguments;
    one channel per task, float64 sums.

    ``x`` is ``(B, C, L)`` (the pixels of a channel in one row). Each sum runs in a row
    of L partial sums, one per pixel, which the loop over the batch updates
    together, then adds up: a single running sum cannot be vectorised (each
    addition waits for the one before), a row of independent ones can. The
    speed against the NumPy twin is printed by ``benchmarks/bench_layers.py``.
    """
    B, C, L = x.shape
    m = B * L
    for c in prange(C):
        partial = np.zeros(L)                                       # float64 partial sums
        if training:
            for b in range(B):
                row = x[b, c]
                for i in range(L):
                    partial[i] += row[i]
            mean[c] = partial.sum() / m
        mu = mean[c]                                                # x's dtype
        if training:
            partial[:] = 0.0
            for b in range(B):
                row = x[b, c]
                for i in range(L):
                    d = np.float64(row[i] - mu)                     # x − μ in x's dtype
                    partial[i] += d * d
            var[c] = partial.sum() / m
        inv_std[c] = 1.0 / np.sqrt(np.float64(var[c]) + eps)
        inv, g, s = inv_std[c], gamma[c], beta[c]
        for b in range(B):
            row, row_hat, row_out = x[b, c], x_hat[b, c], out[b, c]
            for i in range(L):
                xh = (row[i] - mu) * inv
                row_hat[i] = xh
                row_out[i] = xh * g + s


def batchnorm_normalize(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float,
                        training: bool, mean: np.ndarray | None = None,
                        var: np.ndarray | None = None):
    """Normalise per channel: ``y = γ (x − μ) / √(σ² + ε) + β``.

    Parameters
    ----------
    x : ndarray, shape (B, C, H, W) or (B, C)
    gamma, beta : ndarray, shape (C,), dtype of x
    eps : float > 0
    training : bool
        True: μ and σ² are the mean and biased variance of the batch.
        False: they are the given ``mean`` and ``var``.
    mean, var : ndarray, shape (C,), optional
        Required when ``training`` is False.

    Returns
    -------
    out, x_hat : ndarrays of the shape and dtype of x
    mean, var, inv_std : ndarrays, shape (C,), dtype of x (``inv_std = 1/√(σ² + ε)``)
    """
    x3 = _as_bcl(x)
    if not training:
        mean, var = np.array(mean, dtype=x.dtype), np.array(var, dtype=x.dtype)
    out, x_hat, mean, var, inv_std = choose(_normalize_with_kernel, batchnorm_normalize_numpy)(
        x3, gamma, beta, float(eps), bool(training), mean, var)
    return out.reshape(x.shape), x_hat.reshape(x.shape), mean, var, inv_std


def _normalize_with_kernel(x, gamma, beta, eps, training, mean, var):
    """:func:`batchnorm_normalize_numpy`'s signature for the kernel (which writes its outputs)."""
    C, dtype = x.shape[1], x.dtype
    mean = np.empty(C, dtype) if training else mean
    var = np.empty(C, dtype) if training else var
    inv_std = np.empty(C, dtype)
    x_hat, out = np.empty_like(x), np.empty_like(x)
    _normalize_kernel(x, gamma, beta, eps, training, mean, var, inv_std, x_hat, out)
    return out, x_hat, mean, var, inv_std


# ---------------------------------------------------------------------------
# backward
# ---------------------------------------------------------------------------

def batchnorm_gradients_numpy(dout: np.ndarray, x_hat: np.ndarray, gamma: np.ndarray,
                              inv_std: np.ndarray, training: bool):
    """The batch-norm backward formula in NumPy (the twin of the numba kernel).

    Per channel, with s = γ / √(σ² + ε) and m values per channel:

        dβ = Σ dy,   dγ = Σ dy·x̂
        dx = s (dy − dβ/m − x̂ dγ/m)   (training)
        dx = s (dy − x̂·0)              (evaluation)

    Sums in float64, rounded to dout's dtype once; dx in dout's dtype.

    Parameters
    ----------
    dout, x_hat : ndarray, shape (B, C, ...)
    gamma, inv_std : ndarray, shape (C,)
    training : bool

    Returns
    -------
    dx : shape of dout; dgamma, dbeta : shape (C,), dtype of dout
    """
    axes, per_channel = _channel_axes(dout)
    m = dout.size // dout.shape[1]
    sum_dy = dout.sum(axis=axes, dtype=np.float64)                              # dβ
    sum_dy_xh = _channel_dot(dout, x_hat)                                      # dγ
    zero = np.zeros(dout.shape[1], dtype=dout.dtype)
    shift = (sum_dy / m).astype(dout.dtype) if training else zero
    slope = (sum_dy_xh / m).astype(dout.dtype) if training else zero
    scale = gamma * inv_std                                        # γ / √(σ² + ε)
    # x̂·0 is NaN where x̂ is NaN or ±inf (see the module docstring)
    dx = scale.reshape(per_channel) * (dout - shift.reshape(per_channel)
                                       - x_hat * slope.reshape(per_channel))
    return dx, sum_dy_xh.astype(dout.dtype), sum_dy.astype(dout.dtype)


@numba_kernel
def _gradients_kernel(dout, x_hat, gamma, inv_std, training, dx, dgamma,
                      dbeta):  # pragma: no cover - compiled
    """numba twin of :func:`batchnorm_gradients_numpy`, writing into its last three arguments;
    one channel per task, float64 sums in rows of partial sums as in
    :func:`_normalize_kernel` (arrays ``(B, C, L)``)."""
    B, C, L = dout.shape
    m = B * L
    zero = dout.dtype.type(0)
    for c in prange(C):
        partial_dy = np.zeros(L)
        partial_dy_xh = np.zeros(L)
        for b in range(B):
            row, row_hat = dout[b, c], x_hat[b, c]
            for i in range(L):
                d = np.float64(row[i])
                partial_dy[i] += d
                partial_dy_xh[i] += d * np.float64(row_hat[i])
        sum_dy, sum_dy_xh = partial_dy.sum(), partial_dy_xh.sum()
        dbeta[c] = sum_dy
        dgamma[c] = sum_dy_xh
        scale = gamma[c] * inv_std[c]                              # dout's dtype from here on
        shift, slope = zero, zero
        if training:
            shift, slope = dout.dtype.type(sum_dy / m), dout.dtype.type(sum_dy_xh / m)
        for b in range(B):
            row, row_hat, row_dx = dout[b, c], x_hat[b, c], dx[b, c]
            for i in range(L):
                row_dx[i] = scale * (row[i] - shift - row_hat[i] * slope)


def batchnorm_gradients(dout: np.ndarray, x_hat: np.ndarray, gamma: np.ndarray,
                        inv_std: np.ndarray, training: bool):
    """Gradients of :func:`batchnorm_normalize`.

    ``dβ = Σ dy``, ``dγ = Σ dy x̂`` (sums over all axes but the channel) and, with
    ``s = γ / √(σ² + ε)`` and ``m`` values per channel,

        dx = s (dy − dβ/m − x̂ dγ/m)   (training: μ and σ² depend on x)
        dx = s (dy − x̂·0)              (evaluation: they are constants).

    In evaluation mode ``dx = s dy`` wherever x̂ is finite; the ``x̂·0`` term
    makes dx NaN where x̂ is NaN or ±inf (see the module docstring).

    Returns
    -------
    dx : ndarray, the shape of dout; dgamma, dbeta : ndarray, shape (C,)
    """
    d3, xh3 = _as_bcl(dout), _as_bcl(x_hat)
    dx, dgamma, dbeta = choose(_gradients_with_kernel, batchnorm_gradients_numpy)(
        d3, xh3, gamma, inv_std, bool(training))
    return dx.reshape(dout.shape), dgamma, dbeta


def _gradients_with_kernel(dout, x_hat, gamma, inv_std, training):
    """:func:`batchnorm_gradients_numpy`'s signature for the kernel (which writes its outputs)."""
    C = dout.shape[1]
    dx = np.empty_like(dout)
    dgamma, dbeta = np.empty(C, dout.dtype), np.empty(C, dout.dtype)
    _gradients_kernel(dout, x_hat, gamma, inv_std, training, dx, dgamma, dbeta)
    return dx, dgamma, dbeta
