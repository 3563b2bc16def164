"""The one switch between numba kernels and their NumPy twins.

Every compiled kernel in ``ttnet.ops`` has a NumPy twin with the same
signature that computes the same thing with whole-array operations. The twin
is the readable reference; the kernel is the fast path. Which one runs is
decided *at every call* by :func:`numba_enabled`, so a notebook or a test can
flip the switch without re-importing anything::

    import os
    os.environ["TTNET_NUMBA"] = "0"   # every kernel now runs its NumPy twin

(One exception: the TT contraction steps of :mod:`ttnet.ops.contract` are
matrix products, where NumPy's BLAS beats the numba kernels on every measured
shape, so the layers always run the BLAS version and the switch does not apply
there; see ``docs/design_notes.md``.)

A module that owns a kernel pair dispatches with :func:`choose`::

    @numba_kernel
    def _scale_kernel(x, out): ...       # loops, prange over the batch

    def _scale_numpy(x, out): ...        # same signature, NumPy only

    choose(_scale_kernel, _scale_numpy)(x, out)

The two must agree on every input, NaN and ±inf included (tested case by case
in ``tests/ops/test_twins_nonfinite.py``). That includes what they say: a
kernel never emits NumPy's "invalid value" / "overflow" RuntimeWarnings, so
:func:`choose` runs the twin with those warnings switched off; the NaN or
±inf in the result is the signal, on both paths.

Kernels are compiled lazily (on their first call, once per dtype) and cached
on disk (``cache=True``), so importing ttnet stays fast and later runs skip
compilation. If numba cannot be imported, :func:`numba_enabled` is False and
the twins run; :func:`numba_kernel` then returns the plain Python function,
which still runs (slowly) where a module calls a kernel directly, as the
``*_numba`` functions of :mod:`ttnet.ops.contract` do. No module imports
numba itself: they take everything (``prange``, :func:`num_threads`) from here.

Rules for kernels (docs/conventions.md §7): ``prange`` over the outer, independent loop
(batch or batch × channel); keep the input dtype (cast literals with
``x.dtype.type(...)`` or build accumulators from the arrays' own values); no
``fastmath`` flags that assume NaN and Inf never occur, so a NaN in gives a
NaN out (reordering a sum, ``numba_kernel(reassociate=True)``, is allowed).
And do the same arithmetic as the twin, in the same dtype and order where
possible, so that the two agree on every input.
"""

from __future__ import annotations

import functools
import os
import warnings
from typing import Callable, TypeVar

import numpy as np

try:
    import numba
except ImportError:  # numba is a dependency, but the NumPy twins work without it
    numba = None

#: Name of the environment variable that switches numba off when set to "0".
ENV_VAR = "TTNET_NUMBA"

#: ``numba.prange`` (parallel loop) when numba is available, else ``range``.
prange = numba.prange if numba is not None else range

F = TypeVar("F", bound=Callable)


def numba_available() -> bool:
    """True if numba could be imported."""
    return numba is not None


def numba_enabled() -> bool:
    """True if numba kernels should run: numba imports and ``TTNET_NUMBA`` is not ``"0"``.

    The environment variable is read at every call, so changing
    ``os.environ["TTNET_NUMBA"]`` takes effect immediately.
    """
    return numba is not None and os.environ.get(ENV_VAR, "1").strip() != "0"


def num_threads() -> int:
    """numba's thread count (``numba.get_num_threads()``), or 1 without numba."""
    return int(numba.get_num_threads()) if numba is not None else 1


def numba_kernel(func: F | None = None, *, parallel: bool = True,
                 reassociate: bool = False) -> F | Callable[[F], F]:
    """Decorator: compile ``func`` with ``numba.njit(parallel=parallel, nogil=True, cache=True)``.

    Use as ``@numba_kernel`` or ``@numba_kernel(parallel=False)``. A serial
    kernel (``parallel=False``) is meant for a caller that splits the work
    between threads itself (:func:`ttnet.blas.map_on_threads`); every kernel
    releases the GIL, so that such calls run side by side. Compilation
    happens on the first call. Without numba the plain Python function is
    returned; it is never called then, because :func:`numba_enabled` is False.

    ``reassociate=True`` adds the one fastmath flag ``"reassoc"``: the compiler may
    reorder a sum, which lets it keep a running sum ``t += a[q] * b[q]`` in several
    vector lanes instead of one scalar. A BLAS product reorders its sums the same
    way; NaN and ±inf still propagate (the flags that assume they never occur stay
    off). For a kernel whose main work is such a reduction.
    """
    flags = {"reassoc"} if reassociate else False

    def decorate(f: F) -> F:
        if numba is None:
            return f
        return numba.njit(parallel=parallel, nogil=True, cache=True, fastmath=flags)(f)

    return decorate(func) if func is not None else decorate


#: The warning :func:`choose` gives, once, when NumPy was imported before ttnet.
SPIN_WARNING = (
    "NumPy was imported before ttnet, so ttnet could not shorten OpenBLAS's busy-waiting "
    "after matrix products, and numba kernels share the cores with the waiting threads "
    "(a training step measured up to 1.4x slower). Import ttnet before NumPy and before "
    "anything that imports it (matplotlib, torch, ...), or set OPENBLAS_THREAD_TIMEOUT=4 in "
    "the environment before Python starts.")
_spin_checked = False


def choose(kernel: F, twin: F) -> F:
    """Return ``kernel`` if :func:`numba_enabled` else its NumPy ``twin`` (same signature).

    The twin is returned wrapped so that it runs under ``np.errstate(all="ignore")``
    (the kernel emits no floating-point warnings, so neither does the twin);
    ``choose(k, t).__wrapped__ is t``. The first kernel chosen in a process where NumPy
    was imported before ttnet warns (:data:`SPIN_WARNING`; ``ttnet/__init__.py``).
    """
    if not numba_enabled():
        return _without_fp_warnings(twin)
    global _spin_checked
    if not _spin_checked:                  # the first kernel of the process
        _spin_checked = True
        from .. import _OPENBLAS_SPINS     # decided by ttnet/__init__.py at import
        if _OPENBLAS_SPINS:
            warnings.warn(SPIN_WARNING, RuntimeWarning, stacklevel=3)
    return kernel


def _without_fp_warnings(twin: F) -> F:
    @functools.wraps(twin)
    def run(*args, **kwargs):
        with np.errstate(all="ignore"):
            return twin(*args, **kwargs)

    return run  # type: ignore[return-value]
