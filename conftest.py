"""pytest configuration shared by tests/ and notebooks/: the optional extras.

Some tests and notebooks need an optional extra of setup.cfg (``torch``, ``deploy``, ``docs``).
Without it their tests skip (``pytest.importorskip``) and their notebooks are not collected (a
notebook cannot skip itself); the report header lists what was left out. CI installs every extra
and sets ``TTNET_REQUIRE_EXTRAS=1``: then a missing extra is an error before any test runs.
"""

import importlib.util
import os

import pytest

#: module that must import -> the extra that installs it
EXTRA_MODULES = {"torch": "torch", "onnx": "deploy", "onnxruntime": "deploy", "sphinx": "docs",
                 "myst_nb": "docs", "furo": "docs"}
#: notebook -> the module it needs
NOTEBOOK_NEEDS = {"notebooks/09_from_numpy_to_pytorch.ipynb": "torch"}

REQUIRE_EXTRAS = os.environ.get("TTNET_REQUIRE_EXTRAS") == "1"


def _missing(module: str) -> bool:
    return importlib.util.find_spec(module) is None


collect_ignore = [] if REQUIRE_EXTRAS else [
    notebook for notebook, module in NOTEBOOK_NEEDS.items() if _missing(module)]


def pytest_sessionstart(session):
    if REQUIRE_EXTRAS:
        missing = [f"{module} (extra {extra!r})" for module, extra in EXTRA_MODULES.items()
                   if _missing(module)]
        if missing:
            raise pytest.UsageError("TTNET_REQUIRE_EXTRAS=1 but these are not installed: "
                                    + ", ".join(missing))


def pytest_report_header(config):
    if collect_ignore:
        return ("notebooks not collected (their optional extra is not installed): "
                + ", ".join(collect_ignore))
    return None

# The student notebooks (scripts/make_exercises.py) stop at NotImplementedError stubs by design;
# tests/test_exercises.py checks them instead of running them.
collect_ignore_glob = ["notebooks/exercises/*"]
