"""Bridges from ttnet to other libraries, each an optional dependency.

* :mod:`ttnet.interop.torch` -- the same networks in PyTorch (``to_torch``,
  ``from_torch``, ``load_torch_state`` and native ``TTLinear`` / ``TTConv2d`` /
  ``NaiveTTConv2d`` modules). It needs the ``torch`` extra,
  ``pip install -e ".[torch]"``; importing it without PyTorch raises an
  ImportError that says so.

This package itself imports nothing: ``import ttnet`` and ``import ttnet.interop``
never import PyTorch. The conventions shared by both sides are in
``docs/interop.md``.
"""

__all__: list[str] = []
