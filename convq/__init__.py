"""convq -- convex optimisation with compressed (quantized) gradients, and sampling of
log-concave densities over convex bodies, with a C core.

Submodules (imported on first use):

- :mod:`convq.quantize`   unbiased fixed-length gradient quantizers (Mayekar & Tyagi)
- :mod:`convq.bounds`     the closed forms of the source documents
- :mod:`convq.objectives` C-backed objectives with one fused pass over the data
- :mod:`convq.optimize`   gradient, Barzilai-Borwein, accelerated and proximal methods
- :mod:`convq.convexity`  numerical convexity / smoothness / PL diagnostics
- :mod:`convq.models`     the estimators of Lagarde, "Machine Learning Algebra"
- :mod:`convq.feedback`   error feedback (EF-SGD, EF21) around any quantizer
- :mod:`convq.stochastic` quantized projected SGD and mirror descent
- :mod:`convq.sampling`   the Frieze-Kannan grid walk and the ball walk
- :mod:`convq.coding`     bit writer/reader and the fixed-weight range coder
"""
from __future__ import annotations

import importlib

from ._errors import DecodeError, NotLogConcaveWarning

__version__ = "0.1.0"
__all__ = ["DecodeError", "NotLogConcaveWarning", "__version__"]

_SUBMODULES = {
    "quantize", "bounds", "objectives", "optimize", "convexity", "models",
    "stochastic", "sampling", "coding", "distributed", "feedback",
}


def __getattr__(name):
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'convq' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBMODULES)
