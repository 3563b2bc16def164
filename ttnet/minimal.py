"""The reading version: the whole idea of ttnet on one screen.

TT-SVD, the TT-FC layer (forward and backward) and the TT-conv layer (forward) in
about two hundred lines of plain NumPy, written to be read top to bottom next to the
papers (Oseledets 2011; Novikov et al. 2015; Garipov et al. 2016).

This module is deliberately unvalidated: no argument is checked, there is no
float32 care, no rank caps, no numba and no choice of algorithm. Give it the
shapes the comments name. It is the only module of ttnet that breaks the
library's rule that every public function validates its inputs; the full
implementations, which do, are

* ``ttnet.tt.svd`` (``tt_svd``: accuracy bound, rank caps, float32),
* ``ttnet.nn.tt_functional`` and ``ttnet.ops.contract`` (TT-FC and TT-conv, both
  algorithms, forward and backward), wrapped as layers in ``ttnet.nn.tt_layers``
  (``TTLinear``, ``TTConv2d``),
* ``ttnet.ops.im2col`` and ``ttnet.ops.kernel_layouts`` (convolution, layouts).

``tests/test_minimal.py`` checks that this file computes what they compute.

Conventions (as in the rest of ttnet): indices from 0, row-major reshapes, a
TT-tensor core has shape ``(r_{k-1}, n_k, r_k)``, a TT-matrix core
``(r_{k-1}, m_k, n_k, r_k)`` with rows (outputs) ``m_k`` and columns (inputs)
``n_k``, and ``r_0 = r_d = 1`` at the ends of a chain.
"""

import numpy as np

# ------------------------------------------------------------- 1. TT-SVD
#
# A tensor A of shape (n_1, ..., n_d) is written as a chain of 3-way cores,
#     A[i_1, ..., i_d] = G_1[:, i_1, :] @ G_2[:, i_2, :] @ ... @ G_d[:, i_d, :].
# Algorithm 1 of Oseledets (2011): reshape A into a matrix with n_1 rows, take an
# SVD, keep U as the first core, carry S V^T to the right, fold the next mode in,
# repeat. Dropping singular values whose tail has norm <= delta at each of the d-1
# steps, with delta = eps ||A|| / sqrt(d-1), gives ||A - TT||_F <= eps ||A||_F.


def tt_svd(A, eps=0.0):
    """Cores ``(r_{k-1}, n_k, r_k)``, k = 1..d, with ||A - TT|| <= eps ||A||."""
    d = A.ndim
    delta = eps / np.sqrt(d - 1) * np.linalg.norm(A) if d > 1 else 0.0
    cores, r = [], 1
    C = A
    for n in A.shape[:-1]:
        C = C.reshape(r * n, -1)                  # unfolding (r_{k-1} n_k) x rest
        U, s, Vt = np.linalg.svd(C, full_matrices=False)
        tail = np.sqrt(np.cumsum(s[::-1] ** 2))[::-1]  # tail[j] = ||s[j:]||
        rank = max(1, int(np.sum(tail > delta)))  # smallest with tail <= delta
        cores.append(U[:, :rank].reshape(r, n, rank))
        C = s[:rank, None] * Vt[:rank]            # what is left to decompose
        r = rank
    cores.append(C.reshape(r, A.shape[-1], 1))
    return cores


def tt_full(cores):
    """The dense tensor of cores ``(r_{k-1}, n_k, r_k)``, multiplied from the left."""
    full = cores[0].reshape(cores[0].shape[1], -1)    # (n_1, r_1)
    for G in cores[1:]:
        r, n, r_next = G.shape
        full = (full @ G.reshape(r, n * r_next)).reshape(-1, r_next)
    return full.reshape([G.shape[1] for G in cores])


# ------------------------------------------------------------- 2. TT-matrices
#
# A matrix W of shape (M, N), M = m_1...m_d, N = n_1...n_d, is a TT-tensor whose
# k-th mode is the pair (i_k, j_k):
#     W[(i_1..i_d), (j_1..j_d)] = G_1[:, i_1, j_1, :] ... G_d[:, i_d, j_d, :].
# Building it is tt_full on merged modes, then a transpose that puts every row
# index before every column index.


def tt_matrix_full(cores):
    """The dense (M, N) matrix of TT-matrix cores ``(r_{k-1}, m_k, n_k, r_k)``."""
    ms = [G.shape[1] for G in cores]
    ns = [G.shape[2] for G in cores]
    d = len(cores)
    merged = [G.reshape(G.shape[0], -1, G.shape[3]) for G in cores]  # modes (i_k, j_k)
    W = tt_full(merged).reshape([x for m, n in zip(ms, ns) for x in (m, n)])
    rows_first = list(range(0, 2 * d, 2)) + list(range(1, 2 * d, 2))
    W = W.transpose(rows_first)                        # axes i_1..i_d, j_1..j_d
    return W.reshape(int(np.prod(ms)), int(np.prod(ns)))


# ------------------------------------------------------------- 3. TT-FC layer
#
# y = x W^T + b without forming W (Novikov et al. 2015). Read the input row x[b]
# as a tensor X[b, j_1, ..., j_d] and trade one input mode for one output mode
# per core:
#   Z_k[(b, i_1..i_k), r_k, (j_{k+1}..j_d)] = sum over r_{k-1}, j_k of
#       G_k[r_{k-1}, i_k, j_k, r_k] Z_{k-1}[(b, i_1..i_{k-1}), r_{k-1}, j_k, (j_{k+1}..)]
# Z_0 = X with a rank axis of size 1; Z_d holds y. Each step is one einsum.


def tt_step(Z, G):
    """One core step: Z (P, r, n, R) and G (r, m, n, s) -> (P, m, s, R)."""
    return np.einsum("prnq,rmns->pmsq", Z, G)


def tt_step_backward(dout, Z, G):
    """Gradients of tt_step: dout (P, m, s, R) -> dZ (P, r, n, R), dG like G."""
    dZ = np.einsum("pmsq,rmns->prnq", dout, G)
    dG = np.einsum("pmsq,prnq->rmns", dout, Z)
    return dZ, dG


def tt_chain_forward(Z, cores):
    """Core steps on Z (P, r_0, N); return (P M, r_d, 1) and the step inputs."""
    inputs = []
    for G in cores:
        P, r, rest = Z.shape
        n = G.shape[2]
        Z = Z.reshape(P, r, n, rest // n)         # split off the input mode j_k
        inputs.append(Z)
        out = tt_step(Z, G)                       # (P, m_k, r_k, rest / n_k)
        Z = out.reshape(P * G.shape[1], G.shape[3], -1)  # rows (b, i_1..i_k)
    return Z, inputs


def tt_chain_backward(dZ, inputs, cores):
    """Reverse of tt_chain_forward: the gradient of its input and of every core."""
    dcores = [None] * len(cores)
    for k in reversed(range(len(cores))):
        Z, G = inputs[k], cores[k]
        P, _, _, rest = Z.shape
        dout = dZ.reshape(P, G.shape[1], G.shape[3], rest)
        dZ_in, dcores[k] = tt_step_backward(dout, Z, G)
        dZ = dZ_in.reshape(P, G.shape[0], -1)     # undo the split of j_k
    return dZ, dcores


def tt_linear_forward(x, cores, bias=None):
    """y = x W^T + b for x (B, N); returns y (B, M) and what backward needs."""
    B = x.shape[0]
    Z, inputs = tt_chain_forward(x.reshape(B, 1, -1), cores)
    y = Z.reshape(B, -1)
    if bias is not None:
        y = y + bias
    return y, (x.shape, inputs, cores)


def tt_linear_backward(dy, cache):
    """Gradients of tt_linear_forward: dx (B, N), dcores like cores, dbias (M,)."""
    x_shape, inputs, cores = cache
    B, M = dy.shape
    dZ, dcores = tt_chain_backward(dy.reshape(B * M, 1, 1), inputs, cores)
    return dZ.reshape(x_shape), dcores, dy.sum(axis=0)


# ------------------------------------------------------------- 4. TT-conv layer
#
# Garipov et al. (2016): the kernel K (S, C, l, l) is read as the matrix
# K[s, (i, j, c)] of shape S x (l^2 C) and stored as a TT-matrix with one extra
# core in front for the window: G_0 (1, 1, l^2, r_0), then (r_{k-1}, s_k, c_k, r_k):
#   K[s, c, i, j] = G_0[0, 0, i l + j, :] G_1[:, s_1, c_1, :] ... G_d[:, s_d, c_d, :]
# Two ways to run it. (a) Build K and convolve: the definition. (b) Never build K:
# convolve every input channel with the r_0 filters of G_0, then the channel cores
# act on the channel modes exactly like the TT-FC steps above, starting at rank r_0.


def tt_conv_kernel(cores):
    """The dense (S, C, l, l) kernel of TT-conv cores."""
    l = int(round(np.sqrt(cores[0].shape[2])))
    Kmat = tt_matrix_full(cores)              # (S, l^2 C), column (i l + j) C + c
    S = Kmat.shape[0]
    return Kmat.reshape(S, l, l, -1).transpose(0, 3, 1, 2)


def patches(x, l, stride, padding):
    """Every l x l window of x (B, C, H, W): (B, C, H', W', l, l)."""
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = np.lib.stride_tricks.sliding_window_view(x, (l, l), axis=(2, 3))
    return windows[:, :, ::stride, ::stride]


def conv2d(x, K, stride=1, padding=0):
    """y[b, s, h, w] = sum over c, i, j of K[s, c, i, j] xp[b, c, h t + i, w t + j]
    with xp the zero-padded x and t the stride."""
    windows = patches(x, K.shape[2], stride, padding)
    return np.einsum("bchwij,scij->bshw", windows, K)


def tt_conv_forward_dense(x, cores, stride=1, padding=0):
    """(a) TT-conv by building the kernel: x (B, C, H, W) -> (B, S, H', W')."""
    return conv2d(x, tt_conv_kernel(cores), stride, padding)


def tt_conv_forward(x, cores, stride=1, padding=0):
    """(b) TT-conv without the kernel: x (B, C, H, W) -> (B, S, H', W')."""
    G0, channel_cores = cores[0], cores[1:]
    l = int(round(np.sqrt(G0.shape[2])))
    spatial = G0.reshape(l, l, -1)            # r_0 filters of size l x l
    # U[b, c, h, w, r_0]: each channel convolved on its own with each filter
    U = np.einsum("bchwij,ijr->bchwr", patches(x, l, stride, padding), spatial)
    B, C, H, W, r0 = U.shape
    Z = U.transpose(0, 2, 3, 4, 1).reshape(B * H * W, r0, C)  # rows (b, h, w)
    Z, _ = tt_chain_forward(Z, channel_cores)  # (B H W S, 1, 1)
    return Z.reshape(B, H, W, -1).transpose(0, 3, 1, 2)
