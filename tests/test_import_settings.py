"""`import ttnet` shortens OpenBLAS's busy-waiting when it can, and the first numba kernel says
so, once, when it could not (NumPy imported first).

Each case starts a fresh interpreter, since the setting only matters before NumPy loads
OpenBLAS."""

import os
import subprocess
import sys

import pytest

import ttnet
from ttnet.ops import _numba

WARNING = "NumPy was imported before ttnet"
KERNELS = ("from ttnet.ops import max_pool2d; "
           "[max_pool2d(numpy.ones((1, 1, 4, 4)), 2) for _ in range(3)]")


def run(code: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items()
               if k not in ("OPENBLAS_THREAD_TIMEOUT", "OPENBLAS_NUM_THREADS", "TTNET_NUMBA")}
    environ.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=environ, check=True)


def test_importing_ttnet_first_sets_a_short_timeout_before_numpy_loads_openblas():
    result = run("import os, ttnet, numpy; print(os.environ['OPENBLAS_THREAD_TIMEOUT']); "
                 + KERNELS)
    assert result.stdout.strip() == "4" and WARNING not in result.stderr


def test_a_timeout_the_user_set_is_kept_and_silences_the_warning():
    result = run("import os, ttnet; print(os.environ['OPENBLAS_THREAD_TIMEOUT'])",
                 OPENBLAS_THREAD_TIMEOUT="10")
    assert result.stdout.strip() == "10"
    assert WARNING not in run("import numpy, ttnet; " + KERNELS,
                              OPENBLAS_THREAD_TIMEOUT="10").stderr


def test_no_warning_when_openblas_runs_one_thread_or_no_kernel_runs():
    assert WARNING not in run("import numpy, ttnet; " + KERNELS, OPENBLAS_NUM_THREADS="1").stderr
    assert WARNING not in run("import numpy, ttnet; " + KERNELS, TTNET_NUMBA="0").stderr
    assert WARNING not in run("import numpy, ttnet; ttnet.tt_svd(numpy.ones((4, 4)))").stderr


def test_numpy_first_warns_once_at_the_first_kernel_where_openblas_threads_could_spin():
    result = run("import numpy, ttnet; " + KERNELS, OPENBLAS_NUM_THREADS="2")
    spinning = ttnet._cpu_count() > 1 and ttnet._numpy_uses_openblas()
    assert result.stderr.count(WARNING) == (1 if spinning else 0), result.stderr
    if spinning:
        assert _numba.SPIN_WARNING[:60] in result.stderr
        assert "OPENBLAS_THREAD_TIMEOUT=4" in result.stderr


@pytest.mark.parametrize("config, expected", [
    ({"Build Dependencies": {"blas": {"name": "scipy-openblas"}}}, True),
    ({"Build Dependencies": {"blas": {"name": "mkl"}}}, False),
    ({}, False)])
def test_the_blas_library_is_read_from_numpys_build_configuration(monkeypatch, config, expected):
    import numpy as np
    monkeypatch.setattr(np.__config__, "CONFIG", config)
    assert ttnet._numpy_uses_openblas() is expected
