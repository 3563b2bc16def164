"""ttnet imports and works with numba unimportable: every module, every layer, a training step.

numba is a dependency, but the package promises that the NumPy twins carry everything
without it. A child process makes ``import numba`` fail (``sys.modules["numba"] = None``)
before importing ttnet, imports every module, runs forward and backward of every layer in
both modes, the numba variants of the TT core step (as plain Python) and one epoch of the
Trainer (``tests/ops/without_numba.py``). Its results must equal the ones computed here with
the numba kernels, to roundoff.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ttnet.ops import _numba

from . import without_numba
from .numba_switch import numba_path

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def child_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("no_numba") / "results.npz"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    env.pop("TTNET_NUMBA", None)
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "ops" / "without_numba.py"),
                           str(out)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "RuntimeWarning" not in proc.stderr, proc.stderr[-3000:]
    with np.load(out) as data:
        return {k: data[k] for k in data.files}


def test_every_module_imports_without_numba(child_results):
    imported = set(child_results["modules"].tolist())
    expected = {"ttnet.ops.contract", "ttnet.ops.pool", "ttnet.ops.batchnorm", "ttnet.ops.im2col",
                "ttnet.nn.tt_layers", "ttnet.train.trainer", "ttnet.cli", "ttnet.experiments",
                "ttnet.gradcheck"}
    assert expected <= imported
    assert len(imported) >= 25


def test_results_without_numba_equal_the_numba_kernels(child_results):
    if _numba.numba_available():
        with numba_path(True):
            here = without_numba.run()
    else:                               # nothing to compare with: run the twins here
        here = without_numba.run()
    assert set(here) == set(child_results) - {"modules"}
    names = {name for name, _, _ in without_numba.layer_cases()}
    assert {key.split("/")[0] for key in here if "/train/" in key} == names
    for key, value in here.items():
        other = child_results[key]
        assert other.dtype == value.dtype and other.shape == value.shape, key
        assert np.isfinite(other).all(), key
        np.testing.assert_allclose(other, value, rtol=2e-5, atol=2e-6, err_msg=key)
