"""Small helpers shared by the tests."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st


@st.composite
def window_geometries(draw, *, max_batch, max_channels, max_hw, max_kernel, max_padding=None):
    """A valid sliding-window geometry ``((B, C, H, W), kernel, stride, padding)``.

    Non-square kernels of 1..max_kernel, strides 1-3, paddings 0..max_padding per
    side (``None``: at most half the kernel, as pooling requires), and the
    kernel never larger than the padded input.
    """
    B, C = draw(st.integers(1, max_batch)), draw(st.integers(1, max_channels))
    H, W = draw(st.integers(1, max_hw)), draw(st.integers(1, max_hw))
    kernel = (draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = tuple(draw(st.integers(0, k // 2 if max_padding is None else max_padding))
                    for k in kernel)
    assume(kernel[0] <= H + 2 * padding[0] and kernel[1] <= W + 2 * padding[1])
    return (B, C, H, W), kernel, stride, padding


def rel_err(a, b):
    """‖a − b‖_F / ‖b‖_F in float64 (``b = 0`` gives the absolute error)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    nb = np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / (nb if nb > 0 else 1.0))


def small_data(monkeypatch, n):
    """Make ``ttnet.data.load`` return the first ``n`` images of each split (an epoch in a
    second); return the real loader."""
    import ttnet.data as ttdata

    real_load = ttdata.load
    monkeypatch.setattr(ttdata, "load", lambda name, split="train", root=None, download=False:
                        real_load(name, split, root, download).subset(np.arange(n)))
    return real_load


@st.composite
def conv_setups(draw):
    """Shapes for a small convolution: odd/even and non-square kernels, strides 1-3, padding 0-2."""
    (B, C, H, W), kernel, stride, padding = draw(
        window_geometries(max_batch=2, max_channels=3, max_hw=6, max_kernel=4, max_padding=2))
    S = draw(st.integers(1, 3))
    return dict(B=B, C=C, S=S, H=H, W=W, kernel=kernel, stride=stride, padding=padding,
                bias=draw(st.booleans()), seed=draw(st.integers(0, 2**32 - 1)))


def load_script(path, name):
    """Import the script at ``path`` (not a package module) as module ``name``.

    The module is registered in ``sys.modules`` first, so that dataclasses defined in the
    script can look their module up, and the script's directory is on the import path while
    it runs, as when it is run as ``python path`` (the benchmarks import their helpers so).
    """
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(Path(path).resolve().parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.pop(0)
    return module
