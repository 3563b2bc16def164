"""Matrix products with a long sum and a small result, robust on a busy machine.

(A module of its own below every package, like ``ttnet._checks``: the TT chain and
the core steps in :mod:`ttnet.tt.cores`, Winograd's convolution, the TT-conv's spatial
step and its separable algorithm use it.)

The gradient of a weight is a sum over the batch (and, in a convolution, the
pixels): ``dW = Σ_q dY[:, q] X[:, q]ᵀ``, a product whose inner dimension is long
(``q`` up to B·H'·W' = 131,072) and whose result is small (a 32 × 32 core
gradient). OpenBLAS splits such a product between its threads by blocks of the
result and has the threads meet after every block of a few hundred terms of the
sum. On an idle machine that costs nothing; when another process shares the
cores, a thread that waits for a descheduled partner loses a time slice at every
meeting. Measured on the development machine (2 cores, another training process
on each): a ``(32, 131072) @ (131072, 32)`` product took 2.26 s with 2 BLAS
threads and 6.7 ms with 1 (6.6 ms with 2 when the machine was idle), and the
sequential TT-conv's backward pass took 50 times longer than on one thread.

:func:`long_sum_matmul` computes such a product the other way round: it splits
the *sum* into one slice per thread, lets each thread compute its slice's
partial product on a single BLAS thread, and adds the partial results in a
fixed order. The threads meet once per product, so a busy machine slows it in
proportion to the CPU it takes away. The number of threads is the BLAS thread
count (``OPENBLAS_NUM_THREADS`` and the like); with one, it is a plain product.

:func:`batched_matmul` does the same for a stack of products (the TT core
steps: ``p`` products of a core matrix with a slice of the input): it splits the
stack between the threads, each computing its products on one BLAS thread. A
stack of 24 products of ``(64, 64) @ (64, 512)``, which OpenBLAS threaded one
product at a time, took 190 ms instead of about 1 ms on the busy machine.

:func:`map_on_threads` runs work that the caller cuts into pieces itself
(Winograd's convolution, a chunk of images per piece, :mod:`ttnet.ops.winograd`):
each thread, on one BLAS thread, takes the next piece as soon as it is free, so a
thread slowed down by the machine leaves its share to the others, and the threads
meet once, at the end. :func:`batch_chunks` cuts a batch of images into such pieces, and
:class:`OrderedSum` adds up the pieces' parts of a gradient in their order.

The per-call BLAS thread limit comes from ``threadpoolctl``.
"""

from __future__ import annotations

import concurrent.futures
import functools
import queue
import threading
from typing import Callable, Iterable, TypeVar

import numpy as np

from ._checks import check_int, check_out, describe

__all__ = ["long_sum_matmul", "batched_matmul", "map_on_threads", "batch_chunks", "OrderedSum",
           "MIN_SLICE"]

T = TypeVar("T")
R = TypeVar("R")

#: Slices of the sum shorter than this are not worth a thread: below ``threads ·
#: MIN_SLICE`` terms, :func:`long_sum_matmul` runs one single-threaded product.
MIN_SLICE = 2048


@functools.lru_cache(maxsize=None)
def _controller():
    from threadpoolctl import ThreadpoolController
    return ThreadpoolController()


def _blas_threads() -> int:
    """The number of threads the loaded BLAS libraries use (at least 1)."""
    infos = _controller().select(user_api="blas").info()
    return max([1] + [int(info["num_threads"]) for info in infos])


@functools.lru_cache(maxsize=None)
def _pool(threads: int) -> concurrent.futures.ThreadPoolExecutor:
    return concurrent.futures.ThreadPoolExecutor(max_workers=threads,
                                                 thread_name_prefix="ttnet-blas")


def _map(threads: int, work, items) -> list:
    """``[work(i) for i in items]`` on the thread pool, each call under the caller's NumPy
    floating-point error settings (``np.errstate`` is per thread: a caller's
    ``np.errstate(all="ignore")`` would otherwise not reach the workers)."""
    settings = np.geterr()

    def run(item):
        with np.errstate(**settings):
            return work(item)

    return list(_pool(threads).map(run, items))


def _check_float_pair(a: object, b: object) -> None:
    """Both arguments float32 or float64 ndarrays of one dtype, else ``TypeError``."""
    for name, x in (("a", a), ("b", b)):
        if not isinstance(x, np.ndarray) or x.dtype not in (np.float32, np.float64):
            raise TypeError(f"{name} must be a float32 or float64 ndarray, got {describe(x)}")
    if a.dtype != b.dtype:
        raise TypeError(f"a and b must have one dtype, got {a.dtype} and {b.dtype}")


def _partial(a: np.ndarray, b: np.ndarray, start: int, stop: int) -> np.ndarray:
    """``Σ_p a[p, :, start:stop] @ b[p, start:stop, :]``."""
    return np.matmul(a[:, :, start:stop], b[:, start:stop, :]).sum(axis=0)


def long_sum_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``Σ_p a[p] @ b[p]`` for ``a (p, M, K)``, ``b (p, K, N)`` (or ``a @ b`` for 2-D arrays),
    with the sum over K split between threads.

    Each thread computes the partial product of one slice of K on one BLAS
    thread; the partial results are added in slice order, so the result does not
    depend on which thread finishes first (it does depend on the thread count,
    like any BLAS product). Meant for a small result and a long K (see the
    module docstring); arrays may be strided views (transposes are read in place).

    Parameters
    ----------
    a : ndarray, shape (M, K) or (p, M, K)
    b : ndarray, shape (K, N) or (p, K, N), same dtype

    Returns
    -------
    ndarray, shape (M, N)

    Raises
    ------
    TypeError
        ``a`` or ``b`` is not a float array, or their dtypes differ.
    ValueError
        The shapes do not chain.
    """
    _check_float_pair(a, b)
    if not (a.ndim == b.ndim and a.ndim in (2, 3) and a.shape[-1] == b.shape[-2]
            and a.shape[:-2] == b.shape[:-2]):
        raise ValueError(f"a and b must be (M, K) and (K, N), or (p, M, K) and (p, K, N), got "
                         f"shapes {a.shape} and {b.shape}")
    if a.ndim == 2:
        a, b = a[None], b[None]
    K = a.shape[2]
    threads = min(_blas_threads(), K // MIN_SLICE)
    with _controller().limit(limits=1, user_api="blas"):
        if threads <= 1:
            return _partial(a, b, 0, K)
        bounds = [K * t // threads for t in range(threads + 1)]
        parts = _map(threads, lambda t: _partial(a, b, bounds[t], bounds[t + 1]),
                     range(threads))
    total = parts[0]
    for part in parts[1:]:
        total += part
    return total


def batched_matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``np.matmul(a, b)`` for a stack ``b (p, K, N)`` and ``a (M, K)`` or ``(p, M, K)``, with
    the p products split between threads, each on one BLAS thread (module docstring).

    Each product is computed exactly as ``np.matmul`` computes it on one thread, so the
    result does not depend on the split. A stack of one product is ``np.matmul`` itself:
    BLAS shares that product between its threads by blocks of its result, which a busy
    machine slows only in proportion.

    Parameters
    ----------
    a : ndarray, shape (M, K) (the same matrix for every product) or (p, M, K)
    b : ndarray, shape (p, K, N), same dtype
    out : ndarray, shape (p, M, N), same dtype, optional
        Where to write the result, for callers that reuse a buffer between
        calls (any strides); a new array if omitted.

    Returns
    -------
    ndarray, shape (p, M, N): ``out`` if given

    Raises
    ------
    TypeError, ValueError
        As :func:`long_sum_matmul`; also for an ``out`` that is not an ndarray
        (TypeError), has the wrong shape or dtype, is read-only or overlaps ``a`` or ``b``
        (ValueError).
    """
    _check_float_pair(a, b)
    if not (b.ndim == 3 and a.ndim in (2, 3) and a.shape[-1] == b.shape[1]
            and (a.ndim == 2 or a.shape[0] == b.shape[0])):
        raise ValueError(f"a and b must be (M, K) or (p, M, K), and (p, K, N), got shapes "
                         f"{a.shape} and {b.shape}")
    p = b.shape[0]
    shape = (p, a.shape[-2], b.shape[2])
    if out is None:
        out = np.empty(shape, dtype=b.dtype)
    else:
        check_out(out, "out", shape, b.dtype)
        if np.shares_memory(out, a) or np.shares_memory(out, b):
            raise ValueError("out must not overlap a or b (the threads would read what others "
                             "write)")
    if p == 1:
        return np.matmul(a, b, out=out)
    threads = min(_blas_threads(), p)
    with _controller().limit(limits=1, user_api="blas"):
        if threads <= 1:
            return np.matmul(a, b, out=out)
        bounds = [p * t // threads for t in range(threads + 1)]

        def run(t: int) -> None:
            lo, hi = bounds[t], bounds[t + 1]
            np.matmul(a if a.ndim == 2 else a[lo:hi], b[lo:hi], out=out[lo:hi])

        _map(threads, run, range(threads))
    return out


def map_on_threads(work: Callable[[T, int], R], items: Iterable[T]) -> list[R]:
    """``[work(item, t) for item in items]``, the items shared out between the BLAS threads as
    they fall free, each thread on one BLAS thread; the results in the order of ``items``.

    For work that the caller cuts into pieces itself (Winograd's convolution, a chunk of
    images per item): a thread takes the next item as soon as it has finished one, so a
    thread that the machine slows down (another process, a noisy neighbour) leaves its
    share to the others, and the threads meet once, at the end. ``t`` (``0 <= t <
    threads``) is the index of the thread that runs the call, for per-thread scratch
    buffers; which thread runs which item depends on timing, so a result must not
    depend on ``t``. An exception in a call is raised here. With one BLAS thread (or one
    item) the calls run in the calling thread; so do the products and nested calls
    inside ``work``, which runs with the BLAS limited to one thread.

    Parameters
    ----------
    work : callable ``(item, t) -> result``
        Safe to run in several threads at once: each call writes only its own part of
        any shared output (numba kernels called from it must release the GIL,
        ``nogil=True``, to run side by side).
    items : iterable

    Returns
    -------
    list
        ``work``'s results, in the order of ``items``.
    """
    if not callable(work):
        raise TypeError(f"work must be callable (item, t) -> result, got {describe(work)}")
    try:
        items = list(items)
    except TypeError:
        raise TypeError(f"items must be an iterable, got {describe(items)}") from None
    results: list = [None] * len(items)
    blas_threads = _blas_threads()
    threads = min(blas_threads, len(items))
    pending: queue.SimpleQueue[int] = queue.SimpleQueue()
    for i in range(len(items)):
        pending.put(i)

    def run(t: int) -> None:                    # one thread: take items until none are left
        while True:
            try:
                i = pending.get_nowait()
            except queue.Empty:
                return
            results[i] = work(items[i], t)

    if blas_threads <= 1:       # BLAS on one thread already (as in a call nested in another's
        run(0)                  # work): nothing to limit, and no other thread's limit to touch
        return results
    with _controller().limit(limits=1, user_api="blas"):
        if threads <= 1:
            run(0)
        else:
            _map(threads, run, range(threads))
    return results


def batch_chunks(batch: int, per_image: int, most: int, fewest: int) -> list[tuple[int, int]]:
    """A batch of images cut into consecutive chunks ``[b0, b1)``, in order, for
    :func:`map_on_threads`.

    A chunk holds at most ``most`` units of work at ``per_image`` units an image (but
    always at least one image), and a batch of ``fewest`` images or more gives at
    least ``fewest`` chunks, so that the threads can share them out evenly. The cut
    depends on these numbers only, never on the thread count, so a sum over the
    chunks in their order is the same on any machine.

    Parameters
    ----------
    batch : int, >= 0 (an empty batch gives no chunks)
    per_image, most, fewest : int, >= 1

    Returns
    -------
    list of (b0, b1)
    """
    batch = check_int(batch, "batch", minimum=0)
    per_image = check_int(per_image, "per_image", minimum=1)
    most = check_int(most, "most", minimum=1)
    fewest = check_int(fewest, "fewest", minimum=1)
    per_chunk = max(1, min(most // per_image, batch // fewest))
    return [(b0, min(batch, b0 + per_chunk)) for b0 in range(0, batch, per_chunk)]



class OrderedSum:
    """A sum of parts numbered 0, 1, 2, … that arrive in any order (from the threads of
    :func:`map_on_threads`), added in the order of their numbers.

    The chunks of :func:`batch_chunks` each give their part of a gradient (a sum over
    their images). Added in the chunks' order, the total does not depend on which
    thread ran which chunk, nor on how many threads there were. A part is added as
    soon as all parts before it are in, so only the parts that finished early wait,
    not one part per chunk (a chunk's part of a TT-conv's channel gradient can be a few
    MB, and a batch has dozens of chunks). The additions follow IEEE arithmetic
    without NumPy's warnings (``inf + (−inf)`` is NaN, as inside the kernels that made
    the parts).

    Parameters
    ----------
    shape : tuple of int
    dtype : float32 or float64

    Examples
    --------
    >>> total = OrderedSum((2,), np.float64)
    >>> total.add(1, np.ones(2)); total.add(0, np.full(2, 2.0))
    >>> total.result(2)
    array([3., 3.])
    """

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self._total = np.zeros(shape, dtype=dtype)
        self._next = 0                                  # the number of the next part to add
        self._waiting: dict[int, np.ndarray] = {}       # parts that came before their turn
        self._lock = threading.Lock()

    def add(self, number: int, part: np.ndarray) -> None:
        """Add part ``number`` (``0 <= number``, each number once) when its turn comes.

        Raises
        ------
        TypeError, ValueError
            ``part`` is not an array of the sum's shape and dtype, or ``number`` is not a
            new non-negative int.
        """
        number = check_int(number, "number", minimum=0)
        if not isinstance(part, np.ndarray) or part.dtype != self._total.dtype:
            raise TypeError(f"part must be an ndarray of dtype {self._total.dtype}, "
                            f"got {describe(part)}")
        if part.shape != self._total.shape:
            raise ValueError(f"part must have shape {self._total.shape}, got {part.shape}")
        with self._lock:
            if number < self._next or number in self._waiting:
                raise ValueError(f"part {number} was added already")
            self._waiting[number] = part
            with np.errstate(over="ignore", invalid="ignore"):
                while self._next in self._waiting:
                    self._total += self._waiting.pop(self._next)
                    self._next += 1

    def result(self, count: int) -> np.ndarray:
        """The sum of parts ``0 … count − 1``; ``ValueError`` if any of them is missing."""
        count = check_int(count, "count", minimum=0)
        with self._lock:
            if self._next != count or self._waiting:
                raise ValueError(f"expected parts 0 to {count - 1}, got 0 to {self._next - 1} "
                                 f"in order and {sorted(self._waiting)} besides")
            return self._total
