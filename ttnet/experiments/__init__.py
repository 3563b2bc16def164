"""Experiments: training runs wired together for the CLI and the notebooks, and the paper's table.

========================  =============================================================
module                    what it holds
========================  =============================================================
:mod:`.run`               :class:`RunConfig`, :func:`train` (one run end to end),
                          :func:`evaluate_checkpoint`, :func:`load_model`, the README's
                          :func:`demo`
:mod:`.registry`          :class:`Row` (one planned run) and :class:`Suite` (named rows)
:mod:`.paper_table`       the suites ``paper-table`` and ``quick``: the paper's results
                          table on Fashion-MNIST, and its CI miniature
:mod:`.reproduce`         run a suite (skip what is done, resume what was interrupted)
                          and write its report (``ttnet reproduce``)
:mod:`.claims`            the paper's two claims decided from a report's rows, by rules
                          written before the results
========================  =============================================================
"""

from .run import (DEMO_CONFIG, DEMO_EPOCHS, RunConfig, copy_weights, demo, evaluate_checkpoint,
                  make_prepare, previous_demo, train)
from .run import load_model
from .registry import SUITES, PaperPoint, Row, Suite, get_suite
from . import paper_table  # registers the suites  # noqa: E402,F401

__all__ = ["RunConfig", "train", "copy_weights", "evaluate_checkpoint", "make_prepare", "demo",
           "previous_demo", "load_model", "DEMO_CONFIG", "DEMO_EPOCHS", "PaperPoint", "Row",
           "Suite", "SUITES", "get_suite"]
