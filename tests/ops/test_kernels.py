"""ops/kernels.py: the old name of ops/kernel_layouts.py, kept importable for one release."""

import pytest


def test_old_module_name_imports_with_a_deprecation_warning():
    import importlib
    import sys

    import ttnet.ops.kernel_layouts as layouts
    sys.modules.pop("ttnet.ops.kernels", None)
    with pytest.warns(DeprecationWarning, match="renamed ttnet.ops.kernel_layouts"):
        old = importlib.import_module("ttnet.ops.kernels")
    assert old.kernel_to_matrix is layouts.kernel_to_matrix
    assert set(old.__all__) == set(layouts.__all__)
