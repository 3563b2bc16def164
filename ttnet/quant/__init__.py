"""Uniform k-bit quantization of weights and TT cores (pure NumPy), docs/quantization.md.

* :mod:`ttnet.quant.core` -- one array: scales (max-abs or MSE-optimal), quantize,
  dequantize, fake-quantize with the straight-through estimator;
* :mod:`ttnet.quant.model` -- networks: post-training quantization (:func:`ptq`) and
  quantization-aware training (:func:`qat_model`, :class:`QuantizedLayer`);
* :mod:`ttnet.quant.size` -- the model's size in bytes at k bits (:func:`model_size`);
* :mod:`ttnet.quant.io` -- the quantized weights file of ``ttnet quantize``.
"""

from .core import (BITS, METHODS, MSE_GRID, QuantParams, check_bits, choose_qparams, clip_surrogate,
                   dequantize, fake_quantize, fake_quantize_backward, fake_quantize_forward,
                   quantization_error, quantize)
from .io import (QuantizedFileError, QuantizedWeights, is_quantized_file, load_quantized,
                 save_quantized)
from .model import QuantConfig, QuantizedLayer, ptq, qat_model, quantize_arrays, quantized_names
from .size import ModelSize, model_size

__all__ = ["BITS", "METHODS", "MSE_GRID", "QuantParams", "check_bits", "choose_qparams", "quantize",
           "dequantize", "fake_quantize", "fake_quantize_forward", "fake_quantize_backward",
           "clip_surrogate", "quantization_error", "QuantConfig", "QuantizedLayer", "qat_model",
           "ptq", "quantize_arrays", "quantized_names", "ModelSize", "model_size",
           "QuantizedFileError", "QuantizedWeights", "save_quantized", "load_quantized",
           "is_quantized_file"]
