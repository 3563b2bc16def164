"""Deployment: ONNX export of ttnet networks with TT layers kept factored (:mod:`.onnx_export`).

Needs the optional extra ``deploy`` (``pip install 'ttnet[deploy]'``: onnx and
onnxruntime); importing this package works without it, :func:`export_onnx` then
raises an ImportError naming the extra.
"""

from .onnx_export import (DEPLOY_HINT, OPSET, SUPPORTED_LAYERS, export_onnx, require_onnx,
                          tt_einsum_equation)

__all__ = ["export_onnx", "require_onnx", "tt_einsum_equation", "OPSET", "SUPPORTED_LAYERS",
           "DEPLOY_HINT"]
